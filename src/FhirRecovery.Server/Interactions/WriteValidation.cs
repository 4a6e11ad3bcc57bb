using System.Text.Json;
using System.Xml;
using FhirRecovery.Conformance;
using FhirRecovery.Conformance.Validation;
using FhirRecovery.Server.Configuration;
using FhirRecovery.Server.Http;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using Microsoft.Extensions.Options;

namespace FhirRecovery.Server.Interactions;

/// <summary>A resource accepted for writing, with the validator's warnings (sent back on Prefer: return=OperationOutcome).</summary>
public sealed record CheckedResource(Resource Resource, IReadOnlyList<ValidationIssue> Warnings)
{
    /// <summary>The same input with its own copy of the resource, for a write that may be attempted again (writes amend it).</summary>
    public CheckedResource Copy() => this with { Resource = (Resource)Resource.DeepCopy() };

    public OperationOutcome ToOutcome(string message)
    {
        var outcome = Outcomes.Information(message);
        outcome.Issue.AddRange(Warnings.Select(w => w.ToIssueComponent()));
        return outcome;
    }
}

/// <summary>
/// Validation on write (<see cref="ValidationOptions"/>): which writes go through the profile validator, and the
/// status of a refusal: 400 for structural errors (not well-formed FHIR), 422 for profile errors.
/// </summary>
public sealed class WriteValidation(ConformanceEngine engine, IOptionsMonitor<ValidationOptions> options)
{
    /// <summary>Reads a request body for a write and validates it as configured.</summary>
    public CheckedResource ReadForWrite(ReadOnlyMemory<byte> body, FhirFormat format)
    {
        var settings = options.CurrentValue;
        if (body.IsEmpty)
        {
            throw FhirException.BadRequest("The request body is empty: a FHIR resource is expected");
        }

        if (settings.Mode == ValidationMode.Always
            || (settings.Mode == ValidationMode.DeclaredProfiles && SniffResourceType(body, format) is { } type && settings.AlwaysValidatedTypes.Contains(type)))
        {
            // The validator reads leniently and reports every representation problem at once, located.
            return Accept(engine.Validator.Validate(body, format == FhirFormat.Xml ? ResourceFormat.Xml : ResourceFormat.Json));
        }

        return Check(FhirSerialization.Parse(body, format));
    }

    /// <summary>
    /// txt-1/txt-2 on the narratives of a resource the profile validator does not see (Validation:Mode off, or a type
    /// it is not configured for): other systems display <c>text.div</c> as HTML, so a script, an event-handler
    /// attribute or a <c>javascript:</c> link is refused on every write, whatever the validation settings.
    /// </summary>
    private static void RequireSafeNarrative(Resource resource, string? expressionPrefix)
    {
        var outcome = new OperationOutcome();
        AddNarrativeIssues(resource, resource.TypeName, outcome);
        if (outcome.Issue.Count == 0)
        {
            return;
        }

        if (expressionPrefix is not null)
        {
            Prefix(outcome, expressionPrefix);
        }

        throw new FhirException(StatusCodes.Status400BadRequest, outcome);
    }

    private static void AddNarrativeIssues(Resource resource, string path, OperationOutcome outcome)
    {
        if (resource is not DomainResource domain)
        {
            return;
        }

        if (domain.Text?.Div is { } div)
        {
            foreach (var problem in NarrativeSafety.Check(div))
            {
                outcome.Issue.Add(new OperationOutcome.IssueComponent
                {
                    Severity = OperationOutcome.IssueSeverity.Error,
                    Code = OperationOutcome.IssueType.Invariant,
                    Diagnostics = problem,
                    Expression = [$"{path}.text.div"],
                });
            }
        }

        for (var i = 0; i < domain.Contained.Count; i++)
        {
            AddNarrativeIssues(domain.Contained[i], $"{path}.contained[{i}]", outcome);
        }
    }

    /// <summary>Validates a parsed resource (Bundle entries, a patched resource) as configured.</summary>
    public CheckedResource Check(Resource resource, string? expressionPrefix = null)
    {
        if (!NeedsValidation(resource))
        {
            RequireSafeNarrative(resource, expressionPrefix);
            return new CheckedResource(resource, []);
        }

        return Accept(engine.Validator.Validate(resource), expressionPrefix);
    }

    public bool NeedsValidation(Resource resource)
    {
        var settings = options.CurrentValue;
        return settings.Mode switch
        {
            ValidationMode.Off => false,
            ValidationMode.Always => true,
            _ => settings.AlwaysValidatedTypes.Contains(resource.TypeName)
                 || (resource.Meta?.Profile.Any(p => p is not null && engine.Definitions.Contains(p)) ?? false),
        };
    }

    private static CheckedResource Accept(ValidationResult result, string? expressionPrefix = null)
    {
        if (result.HasErrors || result.Resource is null)
        {
            var outcome = result.ToOperationOutcome();
            if (expressionPrefix is not null)
            {
                Prefix(outcome, expressionPrefix);
            }

            var status = result.HasStructuralErrors || result.Resource is null
                ? StatusCodes.Status400BadRequest
                : StatusCodes.Status422UnprocessableEntity;
            throw new FhirException(status, outcome);
        }

        return new CheckedResource(result.Resource, result.Issues.Where(i => !i.IsError).ToList());
    }

    /// <summary>Rewrites "Goal.status" to "Bundle.entry[2].resource.status" for issues about a Bundle entry.</summary>
    public static void Prefix(OperationOutcome outcome, string prefix)
    {
        foreach (var issue in outcome.Issue)
        {
            issue.Expression = issue.Expression.OfType<string>().Select(e =>
            {
                var dot = e.IndexOf('.');
                return prefix + (dot < 0 ? "" : e[dot..]);
            }).ToList();
            if (!issue.Expression.Any())
            {
                issue.Expression = [prefix];
            }
        }
    }

    /// <summary>The resource type of a body without parsing it (top-level resourceType, or the XML root element).</summary>
    public static string? SniffResourceType(ReadOnlyMemory<byte> body, FhirFormat format)
    {
        try
        {
            if (format == FhirFormat.Xml)
            {
                using var reader = XmlReader.Create(new MemoryStream(body.ToArray(), false),
                    new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null });
                reader.MoveToContent();
                return reader.LocalName;
            }

            var json = new Utf8JsonReader(body.Span, new JsonReaderOptions { MaxDepth = 256 });
            if (!json.Read() || json.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (json.Read())
            {
                if (json.TokenType == JsonTokenType.EndObject)
                {
                    return null;
                }

                if (json.TokenType == JsonTokenType.PropertyName && json.CurrentDepth == 1)
                {
                    var isType = json.ValueTextEquals("resourceType"u8);
                    json.Read();
                    if (isType)
                    {
                        return json.TokenType == JsonTokenType.String ? json.GetString() : null;
                    }

                    json.Skip();
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or XmlException)
        {
            // Malformed: the parser that comes next says where.
        }

        return null;
    }
}
