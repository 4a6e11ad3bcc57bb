using System.Net;
using FhirRecovery.Mapping.Classification;
using Hl7.Fhir.Model;
using static FhirRecovery.Mapping.RecoveryCanonicals;

namespace FhirRecovery.Mapping.Fhir;

/// <summary>
/// Recovery resources → US Core 5.0.1 for EHRs that do not know the recovery guide. Standard elements are kept as they
/// are; recovery extensions stay where US Core allows extensions (all its profiles are open), and what an EHR would not
/// show from an extension is folded into standard fields: the person's priority into Goal.priority, strengths,
/// supports and attainment ratings into Goal.note, preferences, safety information and consent into the
/// ServiceRequest's notes and supportingInfo; SNOMED CT US 461481000124109 is added to the referral's code. The result
/// is a transaction Bundle of conditional updates keyed by identifier, so pushing it twice changes nothing.
/// </summary>
public sealed class UsCoreExporter(RecoveryClassifier classifier)
{
    /// <summary>The US Core profile of each type exported (types without one go out as plain R4).</summary>
    public static readonly IReadOnlyDictionary<string, string> Profiles = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Patient"] = UsCorePatient,
        ["Goal"] = UsCoreGoal,
        ["CarePlan"] = UsCoreCarePlan,
        ["ServiceRequest"] = UsCoreServiceRequest,
        ["QuestionnaireResponse"] = UsCoreQuestionnaireResponse,
        ["Practitioner"] = UsCorePractitioner,
        ["PractitionerRole"] = UsCorePractitionerRole,
        ["Organization"] = UsCoreOrganization,
        ["Condition"] = UsCoreCondition,
    };

    /// <summary>
    /// Exports <paramref name="resources"/> (with ids, as stored: references between them are Type/id). References to
    /// resources not exported become logical references by identifier.
    /// </summary>
    public ConversionResult Export(IReadOnlyList<Resource> resources, EhrProfile target, string source)
    {
        var assembly = new BundleAssembly(target, source);
        var keys = new Dictionary<string, (string FullUrl, Identifier Key)>(StringComparer.Ordinal);
        var copies = new List<(Resource Copy, Identifier Key)>();
        foreach (var resource in resources)
        {
            var copy = (Resource)resource.DeepCopy();
            var key = Key(copy, source);
            keys[$"{resource.TypeName}/{resource.Id}"] = (BundleAssembly.FullUrl(resource.TypeName, key), key);
            copies.Add((copy, key));
        }

        foreach (var (copy, key) in copies)
        {
            Rewrite(copy, keys);
            copy.Id = null;
            copy.Meta = null;
            var profile = Profiles.GetValueOrDefault(copy.TypeName);
            profile = copy switch
            {
                Patient patient => ToUsCore(patient, assembly) ? profile : null,
                Goal goal => ToUsCore(goal),
                CarePlan plan => ToUsCore(plan),
                ServiceRequest request => ToUsCore(request, target),
                Practitioner practitioner => Has(practitioner.Identifier.Any(i => i.System is not null && i.Value is not null) && practitioner.Name.Any(n => n.Family is not null), profile, copy, assembly, "it has no identifier with system and value, or no family name"),
                PractitionerRole role => Has(role.Telecom.Count > 0 || role.Endpoint.Count > 0, profile, copy, assembly, "it has neither telecom nor endpoint (pd-1)"),
                Organization organization => Has(organization.Active is not null && organization.Name is not null, profile, copy, assembly, "its active flag or name is missing"),
                Condition condition => Has(condition.Category.Count > 0 && condition.Code is not null, profile, copy, assembly, "it has no category or code"),
                _ => profile,
            };
            assembly.Add(copy, key, profile);
            copy.Meta!.Tag.RemoveAll(t => t.System == MappingTagSystem && t.Code == MappingTags.Converted);
            if (copy.Meta.Tag.Count == 0 && copy.Meta.Profile.Any())
            {
                copy.Meta.Tag = [];
            }
        }

        return assembly.ToResult();
    }

    private static string? Has(bool ok, string? profile, Resource resource, BundleAssembly assembly, string why)
    {
        if (ok)
        {
            return profile;
        }

        assembly.Issues.Add(ConversionResult.Warning($"{resource.TypeName} goes out as plain R4, not {profile}: {why}"));
        return null;
    }

    private static bool ToUsCore(Patient patient, BundleAssembly assembly)
    {
        if (!patient.Identifier.Any(i => i.System is not null && i.Value is not null) || !patient.Name.Any())
        {
            assembly.Issues.Add(ConversionResult.Warning("Patient goes out as plain R4, not us-core-patient: it needs an identifier with system and value, and a name"));
            return false;
        }

        // US Core requires gender; an unrecorded one is "unknown", which is what the record says.
        patient.Gender ??= AdministrativeGender.Unknown;
        return true;
    }

    private static string ToUsCore(Goal goal)
    {
        // expressedBy carried only "not recorded" (set on import): US Core has no expressedBy requirement, so leave it out.
        if (goal.ExpressedBy is { Reference: null, Identifier: null } by && by.Extension.Any(e => e.Url == DataAbsentReason))
        {
            goal.ExpressedBy = null;
        }

        if (goal.Priority is null && goal.GetExtensionValue<CodeableConcept>(PersonRatedPriorityExtension) is { } personal)
        {
            goal.Priority = (CodeableConcept)personal.DeepCopy();
        }

        var strengths = goal.GetExtensions(StrengthsAndSupportsExtension)
            .Select(e => $"{e.GetExtensionValue<CodeableConcept>("kind")?.Coding.FirstOrDefault()?.Display ?? "Strength or support"}: {e.GetExtensionValue<FhirString>("description")?.Value}")
            .ToList();
        if (strengths.Count > 0)
        {
            AddNote(goal.Note, "Strengths and supports the person names: " + string.Join("; ", strengths) + ".");
        }

        var ratings = goal.GetExtensions(GoalAttainmentLevelExtension)
            .Select(e => $"{e.GetExtensionValue<FhirDateTime>("date")?.Value}: {e.GetExtensionValue<Integer>("level")?.Value:+0;-0;0}")
            .ToList();
        if (ratings.Count > 0)
        {
            AddNote(goal.Note, "Goal attainment ratings (-2..+2): " + string.Join(", ", ratings) + ".");
        }

        return UsCoreGoal;
    }

    private static string ToUsCore(CarePlan plan)
    {
        if (!plan.Category.Any(c => c.Coding.Any(x => x.System == UsCoreCarePlanCategory && x.Code == "assess-plan")))
        {
            plan.Category.Insert(0, new CodeableConcept(UsCoreCarePlanCategory, "assess-plan", "Assessment and Plan of Treatment"));
        }

        if (plan.Text is null)
        {
            var goals = plan.Goal.Select(g => g.Display).OfType<string>().ToList();
            plan.Text = new Narrative
            {
                Status = Narrative.NarrativeStatus.Generated,
                Div = $"<div xmlns=\"http://www.w3.org/1999/xhtml\"><p><b>{WebUtility.HtmlEncode(plan.Title ?? "Recovery care plan")}</b></p>"
                      + (plan.Description is { } d ? $"<p>{WebUtility.HtmlEncode(d)}</p>" : "")
                      + (goals.Count > 0 ? "<ul>" + string.Concat(goals.Select(g => $"<li>{WebUtility.HtmlEncode(g)}</li>")) + "</ul>" : "")
                      + "</div>",
            };
        }

        return UsCoreCarePlan;
    }

    private string ToUsCore(ServiceRequest request, EhrProfile target)
    {
        // The US-edition SNOMED CT code for a peer-support referral, as the IG's ConceptMap gives it.
        var ours = request.Code?.Coding.FirstOrDefault(c => c.System == PeerSupportService);
        if (ours is not null && !request.Code!.Coding.Any(c => c.System == Snomed))
        {
            foreach (var (coding, _) in classifier.Translate(target, ours, Snomed).Where(t => t.Coding.Code == ReferralToPeerSupportUs).Take(1))
            {
                request.Code.Coding.Add(coding);
            }
        }

        if (request.GetExtensionValue<ResourceReference>(ReferralConsentExtension) is { } consent && !request.SupportingInfo.Any(s => s.Reference == consent.Reference))
        {
            request.SupportingInfo.Add((ResourceReference)consent.DeepCopy());
        }

        if (request.GetExtension(SafetyInformationExtension) is { } safety)
        {
            var risk = safety.GetExtensionValue<FhirBoolean>("riskIdentified")?.Value;
            var summary = safety.GetExtensionValue<FhirString>("summary")?.Value;
            AddNote(request.Note, risk == true ? $"Safety information: risk identified. {summary}".Trim() : "Safety information: no risk identified." + (summary is null ? "" : " " + summary));
        }

        if (request.GetExtension(PeerSupportPreferencesExtension) is { } preferences)
        {
            var parts = preferences.Extension.Select(e => e.Value switch
            {
                CodeableConcept cc => $"{e.Url}: {cc.Coding.FirstOrDefault()?.Display ?? cc.Text ?? cc.Coding.FirstOrDefault()?.Code}",
                FhirString s => $"{e.Url}: {s.Value}",
                _ => null,
            }).OfType<string>().ToList();
            if (parts.Count > 0)
            {
                AddNote(request.Note, "Peer-support preferences: " + string.Join("; ", parts) + ".");
            }
        }

        return UsCoreServiceRequest;
    }

    private static void AddNote(List<Annotation> notes, string text)
    {
        if (!notes.Any(n => n.Text == text))
        {
            notes.Add(new Annotation { TextElement = new Markdown(text) });
        }
    }

    private static Identifier Key(Resource resource, string source)
    {
        var existing = resource switch
        {
            IIdentifiable<List<Identifier>> many => many.Identifier.FirstOrDefault(i => !string.IsNullOrEmpty(i.System) && !string.IsNullOrEmpty(i.Value)),
            IIdentifiable<Identifier> { Identifier: { System.Length: > 0, Value.Length: > 0 } one } => one,
            _ => null,
        };
        if (existing is not null)
        {
            return existing;
        }

        // Natively created recovery data may have no identifier: the recovery server's id is the stable key.
        var minted = new Identifier($"{source.TrimEnd('/')}/{resource.TypeName}", resource.Id) { Use = Identifier.IdentifierUse.Secondary };
        if (resource is IIdentifiable<List<Identifier>> list)
        {
            list.Identifier.Add(minted);
        }
        else if (resource is IIdentifiable<Identifier> single)
        {
            single.Identifier = minted;
        }

        return minted;
    }

    private static void Rewrite(Base node, Dictionary<string, (string FullUrl, Identifier Key)> keys)
    {
        foreach (var (_, value) in node.EnumerateElements())
        {
            foreach (var element in value is System.Collections.IEnumerable list and not string ? list.OfType<Base>() : value is Base single ? [single] : [])
            {
                if (element is ResourceReference { Reference: { } reference } r && !reference.StartsWith('#'))
                {
                    var relative = reference.Split('/') is { Length: >= 2 } parts ? $"{parts[^2]}/{parts[^1]}" : reference;
                    if (keys.TryGetValue(relative, out var found))
                    {
                        r.Reference = found.FullUrl;
                    }
                    else if (r.Identifier is null)
                    {
                        r.Type ??= relative.Split('/')[0];
                        r.Reference = null;
                        r.Display ??= relative;
                    }
                }

                if (element is not PrimitiveType)
                {
                    Rewrite(element, keys);
                }
            }
        }
    }
}
