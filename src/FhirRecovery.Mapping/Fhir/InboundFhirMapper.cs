using FhirRecovery.Mapping.Ccda;
using FhirRecovery.Mapping.Classification;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using static FhirRecovery.Mapping.RecoveryCanonicals;

namespace FhirRecovery.Mapping.Fhir;

/// <summary>
/// Generic R4 / US Core resources from an EHR → the recovery profiles. Goals become recovery goals (categories from the
/// EHR's ConceptMaps over their codes, else marked text suggestions), ServiceRequests whose code maps to a peer-support
/// referral become peer-support referrals with a Task, CarePlans and QuestionnaireResponses become recovery ones when
/// the source has what the profile requires (otherwise they come over as plain R4, with a warning saying why: nothing
/// required is invented). Patients, Practitioners(+Roles), Organizations, Conditions and Consents come as they are.
/// Identifiers are kept; a resource without one gets one naming its EHR id, so re-import finds it. References between
/// the input's resources are rewritten; references to resources not in the input become logical (identifier) ones.
/// </summary>
public sealed class InboundFhirMapper(RecoveryClassifier classifier)
{
    private static readonly HashSet<string> PassThrough = new(StringComparer.Ordinal)
    {
        "Patient", "Practitioner", "PractitionerRole", "Organization", "Condition", "Consent", "RelatedPerson", "Observation",
    };

    private static readonly HashSet<string> Mapped = new(StringComparer.Ordinal) { "Goal", "CarePlan", "ServiceRequest", "QuestionnaireResponse" };

    public ConversionResult Map(Resource input, EhrProfile ehr, bool useTextClassifier, string? sourceBase = null)
    {
        var resources = input is Bundle bundle
            ? bundle.Entry.Where(e => e.Resource is not null).Select(e => (FullUrl: e.FullUrl, Resource: e.Resource!)).ToList()
            : [(FullUrl: (string?)null, Resource: input)];
        var assembly = new BundleAssembly(ehr, sourceBase ?? ehr.SourceUri);
        var baseUri = (sourceBase ?? ehr.SourceUri).TrimEnd('/');

        // Keys first: every reference between input resources must know where its target lands.
        var planned = new List<(Resource Source, Resource Copy, Identifier Key, string FullUrl, int Index)>();
        var targets = new Dictionary<string, (string FullUrl, Identifier Key)>(StringComparer.Ordinal);
        for (var i = 0; i < resources.Count; i++)
        {
            var (fullUrl, resource) = resources[i];
            if (!PassThrough.Contains(resource.TypeName) && !Mapped.Contains(resource.TypeName))
            {
                if (resource is not OperationOutcome)
                {
                    assembly.Issues.Add(ConversionResult.Information($"{resource.TypeName}/{resource.Id}: not a type this import takes; left out", $"Bundle.entry[{i}]"));
                }

                continue;
            }

            var copy = (Resource)resource.DeepCopy();
            var key = KeyOf(copy, baseUri);
            var ours = BundleAssembly.FullUrl(copy.TypeName, key);
            planned.Add((resource, copy, key, ours, i));
            foreach (var name in Names(fullUrl, resource, baseUri))
            {
                targets[name] = (ours, key);
            }
        }

        foreach (var item in planned)
        {
            RewriteReferences(item.Copy, targets, baseUri);
        }

        var consents = planned.Where(p => p.Copy is Consent).ToList();
        var typeOf = planned.ToDictionary(p => p.FullUrl, p => p.Copy.TypeName, StringComparer.Ordinal);
        foreach (var (_, copy, key, _, index) in planned)
        {
            copy.Meta = null;
            switch (copy)
            {
                case Goal goal:
                    MapGoal(goal, key, ehr, assembly, useTextClassifier, index);
                    break;
                case CarePlan plan:
                    MapCarePlan(plan, key, assembly, index);
                    break;
                case ServiceRequest request:
                    MapReferral(request, key, ehr, assembly, useTextClassifier, consents.Select(c => (Consent)c.Copy).ToList(), planned.Select(p => p.Copy).ToList(), typeOf, index);
                    break;
                case QuestionnaireResponse response:
                    MapResponse(response, key, assembly, index);
                    break;
                default:
                    copy.Id = null;
                    assembly.Add(copy, key, null);
                    break;
            }
        }

        // A reference to an input resource that was left out would dangle: it becomes a logical one.
        var added = assembly.Bundle.Entry.Select(e => e.FullUrl).ToHashSet(StringComparer.Ordinal);
        var keyOf = planned.ToDictionary(p => p.FullUrl, p => p.Key, StringComparer.Ordinal);
        foreach (var entry in assembly.Bundle.Entry)
        {
            foreach (var reference in References(entry.Resource!).Where(r => r.Reference is { } target && keyOf.ContainsKey(target) && !added.Contains(target)))
            {
                reference.Type ??= typeOf[reference.Reference!];
                reference.Identifier ??= (Identifier)keyOf[reference.Reference!].DeepCopy();
                reference.Reference = null;
            }
        }

        return assembly.ToResult();
    }

    private static string? TypeOf(ResourceReference reference, Dictionary<string, string> typeOf) =>
        reference.Reference is { } target && typeOf.TryGetValue(target, out var type) ? type : reference.Type ?? reference.Reference?.Split('/')[0];

    private static IEnumerable<ResourceReference> References(Base node)
    {
        foreach (var child in Elements(node))
        {
            if (child is ResourceReference reference)
            {
                yield return reference;
            }

            if (child is not PrimitiveType)
            {
                foreach (var inner in References(child))
                {
                    yield return inner;
                }
            }
        }
    }

    private void MapGoal(Goal goal, Identifier key, EhrProfile ehr, BundleAssembly assembly, bool useText, int index)
    {
        goal.Id = null;
        goal.Description ??= new CodeableConcept();
        if (string.IsNullOrWhiteSpace(goal.Description.Text))
        {
            goal.Description.Text = goal.Description.Coding.Select(c => c.Display ?? c.Code).FirstOrDefault(t => !string.IsNullOrEmpty(t));
        }

        if (string.IsNullOrWhiteSpace(goal.Description.Text))
        {
            assembly.Issues.Add(ConversionResult.Warning("Goal without any description text or code: left out (a recovery goal is its text)", $"Bundle.entry[{index}].resource.description"));
            return;
        }

        // The recovery profile types start and due as dates; other forms go to a note rather than being lost.
        if (goal.Start is CodeableConcept startConcept)
        {
            goal.Note.Add(new Annotation { TextElement = new Markdown($"Start (as recorded in the EHR): {startConcept.Text ?? startConcept.Coding.FirstOrDefault()?.Display}") });
            goal.Start = null;
        }

        foreach (var target in goal.Target)
        {
            if (target.Due is Duration duration)
            {
                goal.Note.Add(new Annotation { TextElement = new Markdown($"Target due after {duration.Value} {duration.Unit} (as recorded in the EHR)") });
                target.Due = null;
            }
        }

        goal.ExpressedBy ??= CcdaGoalsImporter.AbsentAuthor();
        var codes = goal.Category.SelectMany(c => c.Coding).Concat(goal.Description.Coding).ToList();
        Classify.Apply(goal, classifier.ClassifyGoal(ehr, codes, goal.Description.Text, useText));
        assembly.Add(goal, key, RecoveryGoal);
    }

    private static void MapCarePlan(CarePlan plan, Identifier key, BundleAssembly assembly, int index)
    {
        plan.Id = null;
        var subject = plan.Subject?.Reference;
        var why = plan.Intent != CarePlan.CarePlanIntent.Plan ? $"its intent is {plan.Intent?.ToString().ToLowerInvariant() ?? "missing"}, not plan"
            : subject is null ? "it has no subject"
            : plan.Author?.Reference != subject && !plan.Contributor.Any(c => c.Reference == subject) ? "the person is neither its author nor a contributor (rcp-1)"
            : plan.Goal.Count == 0 ? "it references no goal"
            : null;
        if (why is not null)
        {
            assembly.Issues.Add(ConversionResult.Warning($"CarePlan kept as plain R4, not a recovery care plan: {why}", $"Bundle.entry[{index}].resource"));
            assembly.Add(plan, key, null);
            return;
        }

        if (!plan.Category.Any(c => c.Coding.Any(x => x.System == RecoveryCarePlanCategory)))
        {
            plan.Category.Add(new CodeableConcept(RecoveryCarePlanCategory, "recovery-care-plan", "Recovery care plan"));
        }

        assembly.Add(plan, key, RecoveryCarePlan);
    }

    private void MapReferral(ServiceRequest request, Identifier key, EhrProfile ehr, BundleAssembly assembly, bool useText, List<Consent> consents, List<Resource> all,
        Dictionary<string, string> typeOf, int index)
    {
        request.Id = null;
        var where = $"Bundle.entry[{index}].resource";
        var isPeerSupport = request.Code?.Coding.Any(c => c.System == PeerSupportService && c.Code == "peer-support-referral") == true
                            || (request.Code?.Coding ?? []).Any(c => classifier.Translate(ehr, c, PeerSupportService).Any(t => t.Coding.Code == "peer-support-referral"));
        if (!isPeerSupport)
        {
            assembly.Issues.Add(ConversionResult.Information("ServiceRequest is not a peer-support referral (no ConceptMap maps its code): left out", where + ".code"));
            return;
        }

        var consent = request.GetExtensionValue<ResourceReference>(ReferralConsentExtension)
                      ?? request.SupportingInfo.FirstOrDefault(s => consents.Any(c => BundleAssembly.FullUrl("Consent", KeyOfExisting(c)) == s.Reference));
        var why = request.Intent != RequestIntent.Order ? $"its intent is {request.Intent?.ToString().ToLowerInvariant() ?? "missing"}, not order"
            : consent is null ? "no consent is recorded with it (referral-consent extension or a Consent in supportingInfo)"
            : request.Requester is null ? "it has no requester"
            : request.AuthoredOn is null ? "it has no authoredOn"
            : request.Performer.Count != 1 || TypeOf(request.Performer[0], typeOf) != "Organization" ? "it does not name one peer-support Organization as performer"
            : null;
        var reasons = classifier.ClassifyReason(ehr, request.ReasonCode.SelectMany(r => r.Coding).ToList(),
            string.Join(" ", request.ReasonCode.Select(r => r.Text).Concat(request.Note.Select(n => n.Text))), useText);
        if (why is null && reasons.Mapped.Count == 0 && reasons.Suggested.Count == 0)
        {
            why = "none of its reasons maps to a peer-support referral reason";
        }

        if (why is not null)
        {
            assembly.Issues.Add(ConversionResult.Warning($"Peer-support ServiceRequest left out: {why}", where));
            return;
        }

        if (!request.Code!.Coding.Any(c => c.System == PeerSupportService))
        {
            request.Code.Coding.Insert(0, new Coding(PeerSupportService, "peer-support-referral", "Referral to peer support"));
        }

        if (!request.Category.Any(c => c.Coding.Any(x => x.System == Snomed && x.Code == SocialServiceProcedure)))
        {
            request.Category.Add(new CodeableConcept(Snomed, SocialServiceProcedure, "Social service procedure"));
        }

        if (request.GetExtension(ReferralConsentExtension) is null)
        {
            request.Extension.Add(new Extension(ReferralConsentExtension, (ResourceReference)consent!.DeepCopy()));
        }

        var home = request.ReasonCode.FirstOrDefault();
        foreach (var coding in reasons.Mapped.Where(m => !request.ReasonCode.Any(r => r.Coding.Any(c => c.System == m.System && c.Code == m.Code))))
        {
            if (home is null)
            {
                request.ReasonCode.Add(new CodeableConcept { Coding = [coding] });
            }
            else
            {
                home.Coding.Add(coding);
            }
        }

        foreach (var suggestion in reasons.Suggested)
        {
            request.ReasonCode.Add(new CodeableConcept { Coding = [suggestion.Coding], Text = suggestion.Coding.Display });
        }

        request.Meta = new Meta();
        if (reasons.MapsUsed.Count > 0)
        {
            request.Meta.Tag.Add(MappingTags.Coding(MappingTags.ConceptMapped));
        }

        if (reasons.SuggestionNote is { } note)
        {
            request.Meta.Tag.Add(MappingTags.Coding(MappingTags.ClassifierSuggested));
            request.Note.Add(new Annotation { TextElement = new Markdown(note) });
        }

        var requestRef = assembly.Add(request, key, PeerSupportReferral, "Referral to peer support");
        if (all.OfType<Hl7.Fhir.Model.Task>().Any(t => t.Focus?.Reference == requestRef.Reference))
        {
            return;
        }

        // The closed loop needs a Task: a referral the EHR sends as active is one waiting for the peer service's answer.
        var task = new Hl7.Fhir.Model.Task
        {
            Identifier = [(Identifier)key.DeepCopy()],
            Status = request.Status == RequestStatus.Completed ? Hl7.Fhir.Model.Task.TaskStatus.Completed : Hl7.Fhir.Model.Task.TaskStatus.Requested,
            BusinessStatus = new CodeableConcept(PeerSupportReferralStatus, "received", "Referral received"),
            Intent = Hl7.Fhir.Model.Task.TaskIntent.Order,
            Priority = request.Priority,
            Code = new CodeableConcept(TaskCode, "fulfill", "Fulfill the focal request"),
            Focus = requestRef,
            For = (ResourceReference?)request.Subject?.DeepCopy(),
            AuthoredOn = request.AuthoredOn,
            Requester = (ResourceReference)request.Requester!.DeepCopy(),
            Owner = (ResourceReference)request.Performer[0].DeepCopy(),
            Input = [new Hl7.Fhir.Model.Task.ParameterComponent { Type = new CodeableConcept(PeerSupportTaskParameter, "referral-consent", "Consent to referral"), Value = (ResourceReference)consent!.DeepCopy() }],
        };
        if (task.Status == Hl7.Fhir.Model.Task.TaskStatus.Completed)
        {
            // pst-1: a completed task states what was done; the EHR only says the request is complete.
            task.Status = Hl7.Fhir.Model.Task.TaskStatus.Requested;
        }

        assembly.Add(task, key, PeerSupportTask);
    }

    private static void MapResponse(QuestionnaireResponse response, Identifier key, BundleAssembly assembly, int index)
    {
        response.Id = null;
        var why = response.Questionnaire is null ? "it names no questionnaire"
            : response.Subject is null ? "it has no subject"
            : response.Authored is null ? "it has no authored date"
            : response.Status == QuestionnaireResponse.QuestionnaireResponseStatus.Completed && response.Item.Count == 0 ? "it is completed but has no answers (rqr-1)"
            : null;
        if (why is not null)
        {
            assembly.Issues.Add(ConversionResult.Warning($"QuestionnaireResponse kept as plain R4, not a recovery questionnaire response: {why}", $"Bundle.entry[{index}].resource"));
            assembly.Add(response, key, null);
            return;
        }

        assembly.Add(response, key, RecoveryQuestionnaireResponse);
    }

    /// <summary>The identifier a resource is imported under: its first usable one, else one minted from its EHR id.</summary>
    private static Identifier KeyOf(Resource resource, string baseUri)
    {
        var existing = KeyOfExisting(resource);
        if (existing.Value is not null)
        {
            return existing;
        }

        var minted = new Identifier($"{baseUri}/{resource.TypeName}", resource.Id ?? BundleAssembly.NameBasedUuid(new FhirJsonSerializer().SerializeToString(resource)).ToString())
        {
            Use = Identifier.IdentifierUse.Secondary,
        };
        if (resource is IIdentifiable<List<Identifier>> identifiable)
        {
            identifiable.Identifier.Add(minted);
        }
        else if (resource is IIdentifiable<Identifier> single)
        {
            single.Identifier = minted;
        }

        return minted;
    }

    private static Identifier KeyOfExisting(Resource resource) => resource switch
    {
        IIdentifiable<List<Identifier>> many => many.Identifier.FirstOrDefault(i => !string.IsNullOrEmpty(i.System) && !string.IsNullOrEmpty(i.Value)) ?? new Identifier(),
        IIdentifiable<Identifier> one when one.Identifier is { System.Length: > 0, Value.Length: > 0 } => one.Identifier,
        _ => new Identifier(),
    };

    private static IEnumerable<string> Names(string? fullUrl, Resource resource, string baseUri)
    {
        if (fullUrl is not null)
        {
            yield return fullUrl;
        }

        if (resource.Id is { } id)
        {
            yield return $"{resource.TypeName}/{id}";
            yield return $"{baseUri}/{resource.TypeName}/{id}";
        }
    }

    private static void RewriteReferences(Base node, Dictionary<string, (string FullUrl, Identifier Key)> targets, string baseUri)
    {
        foreach (var child in Elements(node))
        {
            if (child is ResourceReference { Reference: { } target } reference)
            {
                var lookup = target;
                var history = target.IndexOf("/_history/", StringComparison.Ordinal);
                if (history > 0)
                {
                    lookup = target[..history];
                }

                if (targets.TryGetValue(lookup, out var found))
                {
                    reference.Reference = found.FullUrl;
                }
                else if (!target.StartsWith('#') && !Uri.IsWellFormedUriString(target, UriKind.Absolute) && target.Split('/') is [var type, var id, ..])
                {
                    // Not in the input: keep who it was as a logical reference the EHR's id can be looked up by.
                    reference.Reference = null;
                    reference.Identifier ??= new Identifier($"{baseUri}/{type}", id);
                    reference.Type ??= type;
                }
            }

            if (child is not PrimitiveType)
            {
                RewriteReferences(child, targets, baseUri);
            }
        }
    }

    private static IEnumerable<Base> Elements(Base node)
    {
        foreach (var (_, value) in node.EnumerateElements())
        {
            switch (value)
            {
                case Base element:
                    yield return element;
                    break;
                case System.Collections.IEnumerable list and not string:
                    foreach (var item in list)
                    {
                        if (item is Base element)
                        {
                            yield return element;
                        }
                    }

                    break;
            }
        }
    }
}
