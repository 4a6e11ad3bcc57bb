namespace FhirRecovery.Samples;

/// <summary>
/// The generator's only source of randomness: SplitMix64, written out here so that a seed gives the same sequence on
/// every runtime and platform (System.Random's seeded algorithm is an implementation detail .NET may change).
/// </summary>
public sealed class SampleRandom
{
    private ulong _state;

    public SampleRandom(ulong seed)
    {
        _state = seed;
    }

    /// <summary>An independent stream for one part of the data (e.g. one patient), so parts do not shift each other.</summary>
    public static SampleRandom For(int seed, int stream, int substream = 0) =>
        new(Mix(Mix(Mix(0x5EED_F00D_CAFE_B0BAUL ^ (ulong)(uint)seed) ^ (ulong)(uint)stream) ^ (ulong)(uint)substream));

    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    /// <summary>0 &lt;= result &lt; <paramref name="maxExclusive"/>.</summary>
    public int Next(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        // Lemire's multiply-shift: no division, and a negligible bias for the small ranges the generator uses.
        return (int)(((NextUInt64() >> 32) * (ulong)maxExclusive) >> 32);
    }

    /// <summary>min &lt;= result &lt;= max.</summary>
    public int Between(int min, int max) => min + Next(max - min + 1);

    /// <summary>0.0 &lt;= result &lt; 1.0.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    public bool Chance(double probability) => NextDouble() < probability;

    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];

    /// <summary>One item, chosen with the given relative weights.</summary>
    public T Weighted<T>(IReadOnlyList<(T Item, int Weight)> items)
    {
        var total = items.Sum(i => i.Weight);
        var roll = Next(total);
        foreach (var (item, weight) in items)
        {
            if (roll < weight)
            {
                return item;
            }

            roll -= weight;
        }

        return items[^1].Item;
    }

    /// <summary><paramref name="count"/> distinct items in random order (all of them when there are fewer).</summary>
    public List<T> Sample<T>(IReadOnlyList<T> items, int count)
    {
        var copy = items.ToList();
        for (var i = copy.Count - 1; i > 0; i--)
        {
            var j = Next(i + 1);
            (copy[i], copy[j]) = (copy[j], copy[i]);
        }

        return copy.Take(count).ToList();
    }

    /// <summary>Approximately normal (sum of uniforms), mean 0 and standard deviation 1.</summary>
    public double NextGaussian()
    {
        var sum = 0.0;
        for (var i = 0; i < 12; i++)
        {
            sum += NextDouble();
        }

        return sum - 6.0;
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
