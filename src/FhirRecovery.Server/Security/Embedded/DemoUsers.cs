using System.Security.Cryptography;
using System.Text;
using FhirRecovery.Server.Http;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Options;

namespace FhirRecovery.Server.Security.Embedded;

/// <summary>The login page's users (<c>Auth:Embedded:Users</c>) and the patients each may pick.</summary>
public sealed class DemoUsers(IOptionsMonitor<AuthOptions> options, IResourceStore store)
{
    public DemoUser? Find(string? username) =>
        username is null ? null : options.CurrentValue.Embedded.Users.FirstOrDefault(u => string.Equals(u.Username, username, StringComparison.Ordinal));

    /// <summary>The user whose password matches, compared in constant time (no early exit that would time the password).</summary>
    public DemoUser? SignIn(string? username, string? password)
    {
        var user = Find(username);
        var expected = Encoding.UTF8.GetBytes(user?.Password ?? "\0no user\0");
        var given = Encoding.UTF8.GetBytes(password ?? "");
        var matches = CryptographicOperations.FixedTimeEquals(SHA256.HashData(expected), SHA256.HashData(given));
        return user is not null && matches && user.Password.Length > 0 ? user : null;
    }

    /// <summary>The patients the user may choose: their own record (a patient user), the configured ones, or any (<c>*</c>).</summary>
    public async Task<IReadOnlyList<(string Id, string Name)>> PatientsForAsync(DemoUser user, CancellationToken cancellationToken)
    {
        var ids = new List<string>();
        if (user.FhirUser is { } fhirUser && fhirUser.StartsWith("Patient/", StringComparison.Ordinal))
        {
            ids.Add(fhirUser["Patient/".Length..]);
        }

        ids.AddRange(user.Patients.Where(p => p != "*"));
        var result = new List<(string, string)>();
        using (CurrentAccess.AsSystem())
        {
            foreach (var id in ids.Distinct(StringComparer.Ordinal))
            {
                if (await store.ReadAsync("Patient", id, cancellationToken) is { IsDeleted: false, Json: { } json })
                {
                    result.Add((id, NameOf(json, id)));
                }
            }

            if (user.Patients.Contains("*"))
            {
                var search = await store.SearchAsync(new SearchRequest
                {
                    ResourceType = "Patient",
                    Parameters = [new("_sort", "family"), new("_count", "100")],
                }, cancellationToken);
                result.AddRange(search.Matches.Where(m => m.Json is not null && result.All(r => r.Item1 != m.Id)).Select(m => (m.Id, NameOf(m.Json!, m.Id))));
            }
        }

        return result;
    }

    public async Task<bool> MayChooseAsync(DemoUser user, string patient, CancellationToken cancellationToken) =>
        (await PatientsForAsync(user, cancellationToken)).Any(p => p.Id == patient)
        || (user.Patients.Contains("*") && await ExistsAsync(patient, cancellationToken));

    private async Task<bool> ExistsAsync(string patient, CancellationToken cancellationToken)
    {
        using (CurrentAccess.AsSystem())
        {
            return Interactions.ResourceNames.IsValidId(patient) && await store.ReadAsync("Patient", patient, cancellationToken) is { IsDeleted: false };
        }
    }

    private static string NameOf(byte[] json, string id) =>
        FhirSerialization.ParseStored(json) is Patient { Name: [var name, ..] }
            ? string.Join(' ', name.Given.Append(name.Family).Where(p => !string.IsNullOrEmpty(p)))
            : id;
}
