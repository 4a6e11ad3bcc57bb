using Hl7.Fhir.Model;

namespace FhirRecovery.Conformance.Terminology;

/// <summary>Three-valued membership: what can be decided locally, and what cannot.</summary>
internal enum Tv : byte
{
    No = 0,
    Maybe = 1,
    Yes = 2,
}

/// <summary>A code that is in a value set, with what the expansion shows about it.</summary>
internal sealed class Member
{
    public required string System { get; init; }
    public string? Version { get; init; }
    public required string Code { get; init; }
    public string? Display { get; init; }
    public bool Abstract { get; init; }
    public bool Inactive { get; init; }

    /// <summary>The code system's concept when the system's content is available.</summary>
    public ConceptInfo? Concept { get; init; }

    /// <summary>Designations given by the value set itself (compose.include.concept.designation).</summary>
    public IReadOnlyList<ValueSet.DesignationComponent> ValueSetDesignations { get; init; } = [];

    /// <summary>The result handed out for a plain "is it in there" check, built once so the hot path does not allocate.</summary>
    internal ValidateCodeResult? PlainValidResult;
}

/// <summary>
/// Membership of one system in a value set: explicit entries, and a rule for every other code of the system. The rule has a
/// value for codes that are syntactically valid and one for codes that are not, which only differ for grammar-based systems
/// (e.g. "all of urn:ietf:bcp:13" is Yes for well-formed media types, No for the rest).
/// </summary>
internal sealed class SystemMembership
{
    public SystemMembership(string system, CodeSystemInfo? info, Dictionary<string, (Tv Value, Member? Member)> entries, Tv ifValid, Tv ifInvalid, string? reason)
    {
        System = system;
        Info = info;
        Entries = entries;
        IfValid = ifValid;
        IfInvalid = ifInvalid;
        Reason = reason;
    }

    public string System { get; }

    public CodeSystemInfo? Info { get; }

    /// <summary>Keyed with the code system's own comparer, so case-insensitive systems match any case.</summary>
    public Dictionary<string, (Tv Value, Member? Member)> Entries { get; }

    public Tv IfValid { get; }

    public Tv IfInvalid { get; }

    /// <summary>Why codes of this system may be undecidable (shown with an Unknown result).</summary>
    public string? Reason { get; }

    public StringComparer Comparer => Info?.CodeComparer ?? StringComparer.Ordinal;

    public Tv RuleFor(string code)
    {
        if (IfValid == IfInvalid)
        {
            return IfValid;
        }

        return Info?.Grammar?.Check(code).IsValid == true ? IfValid : IfInvalid;
    }

    public Tv Get(string code, out Member? member)
    {
        if (Entries.TryGetValue(code, out var entry))
        {
            member = entry.Member;
            return entry.Value;
        }

        member = null;
        return RuleFor(code);
    }
}

/// <summary>
/// The (possibly partly undecidable) set of codes of a value set: an immutable map system → <see cref="SystemMembership"/>,
/// plus a value for systems not mentioned (Maybe when an imported value set is unknown). Built once per value set and cached;
/// a validate-code is then two dictionary lookups.
/// </summary>
internal sealed class MembershipSet
{
    public static readonly MembershipSet Empty = new(new Dictionary<string, SystemMembership>(StringComparer.Ordinal), Tv.No, null);

    public MembershipSet(Dictionary<string, SystemMembership> systems, Tv other, string? otherReason)
    {
        Systems = systems;
        Other = other;
        OtherReason = otherReason;
    }

    public Dictionary<string, SystemMembership> Systems { get; }

    public Tv Other { get; }

    public string? OtherReason { get; }

    /// <summary>Problems met while building the set (unknown codes in compose, missing versions...).</summary>
    public List<string> Warnings { get; init; } = [];

    /// <summary>Code systems (url|version) the set was built from, for expansion.parameter used-codesystem.</summary>
    public List<string> UsedCodeSystems { get; init; } = [];

    public IEnumerable<Member> YesMembers =>
        Systems.Values.SelectMany(s => s.Entries.Values).Where(e => e.Value == Tv.Yes && e.Member is not null).Select(e => e.Member!);

    public int YesCount => Systems.Values.Sum(s => s.Entries.Values.Count(e => e.Value == Tv.Yes));

    public Tv Contains(string system, string code, out Member? member, out string? reason)
    {
        if (Systems.TryGetValue(system, out var part))
        {
            var value = part.Get(code, out member);
            reason = value == Tv.Maybe ? part.Reason ?? OtherReason : null;
            return value;
        }

        member = null;
        reason = Other == Tv.Maybe ? OtherReason : null;
        return Other;
    }

    public static MembershipSet Union(MembershipSet a, MembershipSet b) => Combine(a, b, (x, y) => x > y ? x : y, takeBMembers: true);

    public static MembershipSet Intersect(MembershipSet a, MembershipSet b) => Combine(a, b, (x, y) => x < y ? x : y, takeBMembers: true);

    public static MembershipSet Minus(MembershipSet a, MembershipSet b) => Combine(a, b, (x, y) => Min(x, Not(y)), takeBMembers: false);

    private static Tv Not(Tv v) => v switch { Tv.Yes => Tv.No, Tv.No => Tv.Yes, _ => Tv.Maybe };

    private static Tv Min(Tv x, Tv y) => x < y ? x : y;

    /// <summary>Applies a pointwise three-valued operation: to every explicit code of either side, and to each system's rule.</summary>
    private static MembershipSet Combine(MembershipSet a, MembershipSet b, Func<Tv, Tv, Tv> op, bool takeBMembers)
    {
        var systems = new Dictionary<string, SystemMembership>(StringComparer.Ordinal);
        var other = op(a.Other, b.Other);
        foreach (var system in a.Systems.Keys.Concat(b.Systems.Keys.Where(k => !a.Systems.ContainsKey(k))))
        {
            a.Systems.TryGetValue(system, out var pa);
            b.Systems.TryGetValue(system, out var pb);
            var info = pa?.Info ?? pb?.Info;
            var comparer = info?.CodeComparer ?? StringComparer.Ordinal;
            var ifValid = op(pa?.IfValid ?? a.Other, pb?.IfValid ?? b.Other);
            var ifInvalid = op(pa?.IfInvalid ?? a.Other, pb?.IfInvalid ?? b.Other);
            var reason = (ifValid == Tv.Maybe || ifInvalid == Tv.Maybe)
                ? JoinReasons(pa?.Reason ?? (a.Other == Tv.Maybe ? a.OtherReason : null), pb?.Reason ?? (b.Other == Tv.Maybe ? b.OtherReason : null))
                : null;
            var rule = new SystemMembership(system, info, [], ifValid, ifInvalid, reason);

            var entries = new Dictionary<string, (Tv, Member?)>(comparer);
            void Add(string code)
            {
                if (entries.ContainsKey(code))
                {
                    return;
                }

                Member? ma = null, mb = null;
                var va = pa is null ? a.Other : pa.Get(code, out ma);
                var vb = pb is null ? b.Other : pb.Get(code, out mb);
                var value = op(va, vb);
                var member = ma ?? (takeBMembers ? mb : null);
                if (value != rule.RuleFor(code) || value == Tv.Yes)
                {
                    entries[code] = (value, member);
                }
            }

            if (pa is not null)
            {
                foreach (var code in pa.Entries.Keys)
                {
                    Add(code);
                }
            }

            if (pb is not null)
            {
                foreach (var code in pb.Entries.Keys)
                {
                    Add(code);
                }
            }

            // A system whose codes all get the same value as unmentioned systems needs no entry.
            if (entries.Count > 0 || ifValid != other || ifInvalid != other)
            {
                systems[system] = new SystemMembership(system, info, entries, ifValid, ifInvalid, reason);
            }
        }

        return new MembershipSet(systems, other, other == Tv.Maybe ? JoinReasons(a.OtherReason, b.OtherReason) : null)
        {
            Warnings = [.. a.Warnings, .. b.Warnings.Where(w => !a.Warnings.Contains(w))],
            UsedCodeSystems = [.. a.UsedCodeSystems, .. b.UsedCodeSystems.Where(u => !a.UsedCodeSystems.Contains(u))],
        };
    }

    private static string? JoinReasons(string? x, string? y) =>
        x is null ? y : y is null || x == y ? x : $"{x} {y}";
}
