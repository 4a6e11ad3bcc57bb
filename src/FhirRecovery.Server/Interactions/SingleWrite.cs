using FhirRecovery.Storage;

namespace FhirRecovery.Server.Interactions;

/// <summary>
/// One REST write (create, update, patch, delete, and their conditional forms) in a store session of its own, retried
/// when PostgreSQL rolled it back because it collided with a concurrent transaction (deadlock 40P01, serialization
/// failure 40001). Such a failure says nothing about the request, and the whole request is still in memory, so the
/// client is spared a 409 it would only answer by sending the same request again.
/// <para>
/// Each attempt is a fresh session (the failed one rolled back everything, hooks' writes included) and gets a fresh
/// copy of the resource from <c>write</c> (hooks may have amended the first). Transactions and batches are not retried
/// here: their entries may have been answered from state the rolled-back attempt changed (conditional matches,
/// <c>urn:uuid</c> ids assigned), so they answer 409 and the client decides; see <see cref="StoreErrors"/>.
/// </para>
/// </summary>
public static class SingleWrite
{
    /// <summary>Attempts after the first: a collision rarely repeats twice in a row; past that, 409 as for transactions.</summary>
    public const int Retries = 2;

    public static async Task<T> RunAsync<T>(IResourceStore store, Func<IStoreSession, Task<T>> write, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await using var session = await store.BeginAsync(cancellationToken);
                var result = await write(session);
                await session.CommitAsync(cancellationToken);
                return result;
            }
            catch (Exception e) when (attempt < Retries && IsCollision(e))
            {
                // A short random pause, so the two colliding writers do not meet again in lockstep.
                await Task.Delay(Random.Shared.Next(5, 30 * (attempt + 1)), cancellationToken);
            }
        }
    }

    /// <summary>Whether PostgreSQL rolled the transaction back for a deadlock or a serialization failure (possibly wrapped).</summary>
    public static bool IsCollision(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is Npgsql.PostgresException { SqlState: Npgsql.PostgresErrorCodes.DeadlockDetected or Npgsql.PostgresErrorCodes.SerializationFailure })
            {
                return true;
            }
        }

        return false;
    }
}
