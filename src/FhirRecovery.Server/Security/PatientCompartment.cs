using System.Collections.Concurrent;
using System.Text.Json;
using FhirRecovery.Storage.Compartments;
using FhirRecovery.Storage.Search;
using Hl7.Fhir.ElementModel;
using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;
using Hl7.FhirPath;
using Hl7.FhirPath.Expressions;
using Microsoft.Extensions.Options;

namespace FhirRecovery.Server.Security;

/// <summary>
/// Membership of one stored resource in a patient's compartment (the R4 Patient CompartmentDefinition plus the store's
/// additions, e.g. Task), decided from its JSON with the same search parameters the store uses to confine searches.
/// The common expressions (paths, optionally <c>.where(resolve() is Patient)</c>) are walked on the JSON directly, which
/// costs a few microseconds per read; anything else is evaluated with FHIRPath on the parsed resource.
/// </summary>
public sealed class PatientCompartment
{
    private readonly CompartmentDefinitions _compartments;
    private readonly SearchParameterRegistry _registry;
    private readonly HashSet<string> _shared;
    private readonly ConcurrentDictionary<string, Plan> _plans = new(StringComparer.Ordinal);
    private readonly FhirPathCompiler _compiler = new(new SymbolTable().AddStandardFP().AddFhirExtensions());

    public PatientCompartment(CompartmentDefinitions compartments, SearchParameterRegistry registry, IOptions<AuthOptions> options)
    {
        _compartments = compartments;
        _registry = registry;
        _shared = new HashSet<string>(options.Value.SharedTypes, StringComparer.Ordinal);
    }

    /// <summary>Types whose resources can be in a patient's compartment (Patient itself included).</summary>
    public bool IsMemberType(string type) => type == "Patient" || _compartments.ParametersFor("Patient", type).Count > 0;

    /// <summary>Types outside the compartment that patient-context tokens may read (<see cref="AuthOptions.SharedTypes"/>).</summary>
    public bool IsShared(string type) => !IsMemberType(type) && _shared.Contains(type);

    /// <summary>The search parameters that link a type to the compartment.</summary>
    public IReadOnlyList<string> LinkingParameters(string type) => _compartments.ParametersFor("Patient", type);

    /// <summary>Whether the stored JSON of a <paramref name="type"/> is in the compartment of Patient/<paramref name="patientId"/>.</summary>
    public bool IsMember(string type, string id, ReadOnlyMemory<byte> json, string patientId)
    {
        if (type == "Patient" && id == patientId)
        {
            return true;
        }

        var plan = _plans.GetOrAdd(type, BuildPlan);
        if (plan.IsEmpty)
        {
            return false;
        }

        var target = "Patient/" + patientId;
        if (plan.Paths is { } paths)
        {
            using var document = JsonDocument.Parse(json);
            foreach (var path in paths)
            {
                if (AnyReference(document.RootElement, path, 0, target))
                {
                    return true;
                }
            }

            return false;
        }

        return PatientsByFhirPath(plan, json).Contains(target);
    }

    /// <summary>The patients (ids) whose compartment the resource is in, for audit records.</summary>
    public IReadOnlyList<string> PatientsOf(string type, string id, ReadOnlyMemory<byte> json)
    {
        var result = new List<string>();
        if (type == "Patient")
        {
            result.Add(id);
        }

        var plan = _plans.GetOrAdd(type, BuildPlan);
        if (plan.IsEmpty)
        {
            return result;
        }

        IEnumerable<string> references;
        if (plan.Paths is { } paths)
        {
            var found = new List<string>();
            using var document = JsonDocument.Parse(json);
            foreach (var path in paths)
            {
                CollectReferences(document.RootElement, path, 0, found);
            }

            references = found;
        }
        else
        {
            references = PatientsByFhirPath(plan, json);
        }

        foreach (var reference in references)
        {
            if (PatientId(reference) is { } patient && !result.Contains(patient))
            {
                result.Add(patient);
            }
        }

        return result;
    }

    private static bool AnyReference(JsonElement element, string[] path, int index, string target)
    {
        if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
            {
                if (AnyReference(item, path, index, target))
                {
                    return true;
                }
            }

            return false;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        if (index == path.Length)
        {
            return element.TryGetProperty("reference", out var reference) && reference.ValueKind == JsonValueKind.String
                   && PointsTo(reference.GetString()!, target);
        }

        return element.TryGetProperty(path[index], out var child) && AnyReference(child, path, index + 1, target);
    }

    private static void CollectReferences(JsonElement element, string[] path, int index, List<string> found)
    {
        if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
            {
                CollectReferences(item, path, index, found);
            }

            return;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        if (index == path.Length)
        {
            if (element.TryGetProperty("reference", out var reference) && reference.ValueKind == JsonValueKind.String)
            {
                found.Add(reference.GetString()!);
            }

            return;
        }

        if (element.TryGetProperty(path[index], out var child))
        {
            CollectReferences(child, path, index + 1, found);
        }
    }

    /// <summary>
    /// Local references only, as the store's reference index has them (<c>Patient/1</c>, <c>Patient/1/_history/2</c>):
    /// an absolute URL is another server's resource.
    /// </summary>
    private static bool PointsTo(string reference, string target) =>
        reference.StartsWith(target, StringComparison.Ordinal)
        && (reference.Length == target.Length || reference.AsSpan(target.Length).StartsWith("/_history/"));

    private static string? PatientId(string reference)
    {
        if (!reference.StartsWith("Patient/", StringComparison.Ordinal))
        {
            return null;
        }

        var rest = reference["Patient/".Length..];
        var slash = rest.IndexOf('/');
        return slash < 0 ? rest : rest[..slash];
    }

    private IEnumerable<string> PatientsByFhirPath(Plan plan, ReadOnlyMemory<byte> json)
    {
        var resource = Http.FhirSerialization.ParseStored(json.Span);
        var root = resource.ToPocoNode();
        var context = new FhirEvaluationContext
        {
            ElementResolver = reference => reference.StartsWith("Patient/", StringComparison.Ordinal)
                ? new Patient { Id = PatientId(reference) }.ToPocoNode()
                : null,
        };
        foreach (var expression in plan.Compiled!)
        {
            List<PocoNode> nodes;
            try
            {
                nodes = expression.Invoke([root], context).ToList();
            }
            catch (Exception)
            {
                continue;
            }

            foreach (var node in nodes)
            {
                if (node.Poco is ResourceReference { Reference: { } reference })
                {
                    yield return reference;
                }
            }
        }
    }

    private Plan BuildPlan(string type)
    {
        var parameters = LinkingParameters(type);
        var paths = new List<string[]>();
        var expressions = new List<string>();
        var simple = true;
        foreach (var code in parameters)
        {
            if (_registry.Find(type, code) is not { Expression: { Length: > 0 } expression } parameter)
            {
                continue;
            }

            expressions.Add(expression);
            if (parameter.PlainPaths is not { } plain)
            {
                simple = false;
                continue;
            }

            // Branches resolving to another type (Group, Practitioner...) cannot link to the patient.
            paths.AddRange(plain.Where(p => p.ResolvesTo is null or "Patient").Select(p => p.Segments.ToArray()));
        }

        if (expressions.Count == 0)
        {
            return new Plan(null, null, true);
        }

        return simple
            ? new Plan(paths.ToArray(), null, false)
            : new Plan(null, expressions.Select(e => _compiler.Compile(e)).ToArray(), false);
    }

    private sealed record Plan(string[][]? Paths, CompiledExpression[]? Compiled, bool IsEmpty);
}
