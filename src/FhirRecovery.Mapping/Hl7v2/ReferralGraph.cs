using Hl7.Fhir.Model;

namespace FhirRecovery.Mapping.Hl7v2;

/// <summary>
/// A peer-support referral with what a v2 message about it needs: the person, the referrer and the two organisations,
/// consent and diagnoses, and the Task that carries its state.
/// </summary>
public sealed record ReferralGraph(ServiceRequest Request, Hl7.Fhir.Model.Task? Task, Patient Patient)
{
    public Practitioner? Referrer { get; init; }

    public Organization? ReferrerOrganization { get; init; }

    public Organization? PeerOrganization { get; init; }

    public Consent? Consent { get; init; }

    public IReadOnlyList<Condition> Diagnoses { get; init; } = [];

    /// <summary>Collects the graph from resources that refer to each other by fullUrl or Type/id (a converted or searched Bundle).</summary>
    public static ReferralGraph FromBundle(Bundle bundle, ServiceRequest? request = null)
    {
        var byUrl = new Dictionary<string, Resource>(StringComparer.Ordinal);
        foreach (var entry in bundle.Entry.Where(e => e.Resource is not null))
        {
            var resource = entry.Resource!;
            if (entry.FullUrl is { } fullUrl)
            {
                byUrl[fullUrl] = resource;
            }

            if (resource.Id is { } id)
            {
                byUrl[$"{resource.TypeName}/{id}"] = resource;
            }
        }

        return From(request ?? bundle.Entry.Select(e => e.Resource).OfType<ServiceRequest>().First(),
            reference => reference?.Reference is { } r && (byUrl.TryGetValue(r, out var found) || byUrl.TryGetValue(Relative(r), out found)) ? found : null,
            bundle.Entry.Select(e => e.Resource).OfType<Hl7.Fhir.Model.Task>());
    }

    /// <summary>Collects the graph with a resolver of references.</summary>
    public static ReferralGraph From(ServiceRequest request, Func<ResourceReference?, Resource?> resolve, IEnumerable<Hl7.Fhir.Model.Task> tasks)
    {
        var patient = resolve(request.Subject) as Patient ?? throw new InvalidOperationException("The referral's subject (a Patient) cannot be resolved");
        var requester = resolve(request.Requester);
        var role = requester as PractitionerRole;
        var referrer = requester as Practitioner ?? (role is null ? null : resolve(role.Practitioner) as Practitioner);
        var consentReference = request.GetExtensionValue<ResourceReference>(RecoveryCanonicals.ReferralConsentExtension);
        var task = tasks.FirstOrDefault(t => t.Focus?.Reference is { } focus && (SameReference(focus, request) || resolve(t.Focus) == request));
        return new ReferralGraph(request, task, patient)
        {
            Referrer = referrer,
            ReferrerOrganization = role is null ? requester as Organization : resolve(role.Organization) as Organization,
            PeerOrganization = resolve(request.Performer.FirstOrDefault()) as Organization ?? resolve(task?.Owner) as Organization,
            Consent = resolve(consentReference) as Consent,
            Diagnoses = request.ReasonReference.Select(resolve).OfType<Condition>().ToList(),
        };
    }

    private static bool SameReference(string reference, Resource resource) =>
        resource.Id is { } id && (reference == $"{resource.TypeName}/{id}" || reference.EndsWith($"/{resource.TypeName}/{id}", StringComparison.Ordinal));

    private static string Relative(string reference)
    {
        var parts = reference.Split('/');
        return parts.Length >= 2 ? $"{parts[^2]}/{parts[^1]}" : reference;
    }
}
