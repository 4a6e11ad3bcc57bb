using Hl7.Fhir.Model;

namespace FhirRecovery.Conformance.Terminology;

/// <summary>
/// The FHIR R4 terminology operations as Parameters in, Parameters out, with the standard parameter names, for the REST
/// layer. The optional resource argument is the instance of an instance-level call (ValueSet/[id]/$expand...). Bad input
/// throws <see cref="TerminologyException"/> (its <see cref="TerminologyException.StatusCode"/> is the HTTP status).
/// </summary>
public sealed partial class TerminologyService
{
    /// <summary>ValueSet $expand. Output: a single <c>return</c> parameter holding the expanded ValueSet.</summary>
    public Parameters ExpandOperation(Parameters parameters, ValueSet? instance = null)
    {
        var input = new OperationInput(parameters);
        var options = new ExpansionOptions
        {
            Filter = input.String("filter"),
            Offset = input.Integer("offset") ?? 0,
            Count = input.Integer("count"),
            ActiveOnly = input.Boolean("activeOnly") ?? false,
            ExcludeNotForUI = input.Boolean("excludeNotForUI") ?? false,
            IncludeDesignations = input.Boolean("includeDesignations") ?? false,
            DisplayLanguage = input.String("displayLanguage"),
            ExcludeNested = input.Boolean("excludeNested") ?? true,
        };

        ValueSet expansion;
        if ((instance ?? input.Resource<ValueSet>("valueSet")) is { } valueSet)
        {
            expansion = Expand(valueSet, options);
        }
        else if (input.String("url") is { } url)
        {
            expansion = Expand(WithVersion(url, input.String("valueSetVersion")), options);
        }
        else
        {
            throw TerminologyException.Required("$expand needs the value set: url or valueSet.");
        }

        return new Parameters { Parameter = [new Parameters.ParameterComponent { Name = "return", Resource = expansion }] };
    }

    /// <summary>
    /// ValueSet $validate-code. Input: url/valueSet (+valueSetVersion), and code+system (+systemVersion or version, display),
    /// coding or codeableConcept; abstract; inferSystem (R5, as FHIRPath memberOf sends it). Output: result, message, display,
    /// system, code, version, and x-caused-by-unknown-system when the answer could not be decided locally (then result is false).
    /// </summary>
    public Parameters ValueSetValidateCodeOperation(Parameters parameters, ValueSet? instance = null) =>
        ToParameters(ValueSetValidateCodeRequest(parameters, instance));

    internal ValidateCodeResult ValueSetValidateCodeRequest(Parameters parameters, ValueSet? instance)
    {
        var input = new OperationInput(parameters);
        CachedValueSet cached;
        string label;
        if ((instance ?? input.Resource<ValueSet>("valueSet")) is { } valueSet)
        {
            cached = GetValueSet(valueSet);
            label = ValueSetLabel(valueSet);
        }
        else if (input.String("url") is { } url)
        {
            label = WithVersion(url, input.String("valueSetVersion"));
            cached = GetValueSet(label);
        }
        else
        {
            throw TerminologyException.Required("$validate-code needs the value set: url or valueSet.");
        }

        if (cached.Error is { } error)
        {
            throw error;
        }

        var abstractAllowed = input.Boolean("abstract") ?? Options.AbstractCodesValid;
        if (input.CodeableConcept("codeableConcept") is { } concept)
        {
            return ValueSetValidateCode(cached, label, concept, abstractAllowed);
        }

        if (input.Coding("coding") is { } coding)
        {
            if (coding.System is null && input.Boolean("inferSystem") != true)
            {
                throw TerminologyException.Required("The coding has no system (and inferSystem is not true).");
            }

            return ValueSetValidateCode(cached, label, coding, abstractAllowed);
        }

        if (input.String("code") is { } code)
        {
            var system = input.String("system");
            if (system is null && input.Boolean("inferSystem") != true)
            {
                throw TerminologyException.Required("$validate-code with a code needs its system (or inferSystem = true).");
            }

            return Validate(cached, label, system, code, input.String("display"), input.String("systemVersion") ?? input.String("version"), abstractAllowed);
        }

        throw TerminologyException.Required("$validate-code needs code (with system), coding or codeableConcept.");
    }

    /// <summary>
    /// CodeSystem $validate-code. Input: url/codeSystem (+version), code, display, coding or codeableConcept, abstract.
    /// An unknown code system is not-found; one known only by name (SNOMED CT, LOINC...) gives result false with
    /// x-caused-by-unknown-system.
    /// </summary>
    public Parameters CodeSystemValidateCodeOperation(Parameters parameters, CodeSystem? instance = null)
    {
        var input = new OperationInput(parameters);
        var codeSystem = instance ?? input.Resource<CodeSystem>("codeSystem");
        var coding = input.Coding("coding");
        var concept = input.CodeableConcept("codeableConcept");
        var url = codeSystem?.Url ?? input.String("url") ?? coding?.System;
        var version = input.String("version") ?? coding?.Version;
        var abstractAllowed = input.Boolean("abstract");
        if (url is null)
        {
            if (concept is null)
            {
                throw TerminologyException.Required("CodeSystem $validate-code needs the code system: url, codeSystem or coding.system.");
            }

            // Without url, each coding is checked against its own system; any valid one passes.
            return ToParameters(CombineCodings(concept, c => CodeSystemValidateCode(c, abstractAllowed), "its code system"));
        }

        if (codeSystem is null)
        {
            RequireKnownCodeSystem(url);
        }

        ValidateCodeResult Check(string code, string? display) => codeSystem is not null
            ? CodeSystemValidateCode(codeSystem, code, display, abstractAllowed)
            : CodeSystemValidateCode(url, code, display, version, abstractAllowed);

        if (concept is not null)
        {
            var matching = new CodeableConcept { Coding = concept.Coding.Where(c => c.System == url).ToList() };
            return ToParameters(CombineCodings(matching, c => Check(c.Code ?? "", c.Display), $"code system '{url}'"));
        }

        if (coding is not null)
        {
            if (coding.System is not null && coding.System != url)
            {
                throw TerminologyException.Invalid($"The coding's system '{coding.System}' is not the code system '{url}'.");
            }

            return ToParameters(Check(coding.Code ?? "", coding.Display));
        }

        if (input.String("code") is { } codeValue)
        {
            return ToParameters(Check(codeValue, input.String("display")));
        }

        throw TerminologyException.Required("CodeSystem $validate-code needs code, coding or codeableConcept.");
    }

    /// <summary>CodeSystem $lookup. Input: code+system (+version) or coding; displayLanguage; property (repeating). Output: name, version, display, designation, property.</summary>
    public Parameters LookupOperation(Parameters parameters, CodeSystem? instance = null)
    {
        var input = new OperationInput(parameters);
        var coding = input.Coding("coding");
        var code = coding?.Code ?? input.String("code") ?? throw TerminologyException.Required("$lookup needs code (with system) or coding.");
        var properties = input.Strings("property");
        var language = input.String("displayLanguage");
        LookupResult result;
        if (instance is not null)
        {
            result = Lookup(instance, code, language, properties);
        }
        else
        {
            var system = coding?.System ?? input.String("system") ?? throw TerminologyException.Required("$lookup needs the system of the code.");
            result = Lookup(system, code, coding?.Version ?? input.String("version"), language, properties);
        }

        var output = new Parameters();
        output.Add("name", new FhirString(result.Name));
        if (result.Version is not null)
        {
            output.Add("version", new FhirString(result.Version));
        }

        output.Add("display", new FhirString(result.Display ?? result.Code));
        if (result.Definition is not null)
        {
            output.Add("definition", new FhirString(result.Definition));
        }

        output.Add("abstract", new FhirBoolean(result.Abstract));
        foreach (var d in result.Designations)
        {
            var designation = new Parameters.ParameterComponent { Name = "designation" };
            if (d.Language is not null)
            {
                designation.Part.Add(new Parameters.ParameterComponent { Name = "language", Value = new Code(d.Language) });
            }

            if (d.Use is not null)
            {
                designation.Part.Add(new Parameters.ParameterComponent { Name = "use", Value = d.Use });
            }

            designation.Part.Add(new Parameters.ParameterComponent { Name = "value", Value = new FhirString(d.Value) });
            output.Parameter.Add(designation);
        }

        foreach (var p in result.Properties)
        {
            var property = new Parameters.ParameterComponent { Name = "property" };
            property.Part.Add(new Parameters.ParameterComponent { Name = "code", Value = new Code(p.Code) });
            property.Part.Add(new Parameters.ParameterComponent { Name = "value", Value = p.Value });
            if (p.Description is not null)
            {
                property.Part.Add(new Parameters.ParameterComponent { Name = "description", Value = new FhirString(p.Description) });
            }

            output.Parameter.Add(property);
        }

        return output;
    }

    /// <summary>CodeSystem $subsumes. Input: codeA+codeB+system (+version) or codingA+codingB. Output: outcome.</summary>
    public Parameters SubsumesOperation(Parameters parameters, CodeSystem? instance = null)
    {
        var input = new OperationInput(parameters);
        var codingA = input.Coding("codingA");
        var codingB = input.Coding("codingB");
        var codeA = codingA?.Code ?? input.String("codeA") ?? throw TerminologyException.Required("$subsumes needs codeA or codingA.");
        var codeB = codingB?.Code ?? input.String("codeB") ?? throw TerminologyException.Required("$subsumes needs codeB or codingB.");
        SubsumptionOutcome outcome;
        if (instance is not null)
        {
            outcome = Subsumes(instance, codeA, codeB);
        }
        else
        {
            var system = input.String("system") ?? codingA?.System ?? codingB?.System
                ?? throw TerminologyException.Required("$subsumes needs the system of the codes.");
            if ((codingA?.System is { } sa && sa != system) || (codingB?.System is { } sb && sb != system))
            {
                throw TerminologyException.Invalid("$subsumes compares codes of one code system: codingA and codingB have different systems.");
            }

            outcome = Subsumes(system, codeA, codeB, input.String("version") ?? codingA?.Version ?? codingB?.Version);
        }

        var output = new Parameters();
        output.Add("outcome", new Code(outcome switch
        {
            SubsumptionOutcome.Equivalent => "equivalent",
            SubsumptionOutcome.Subsumes => "subsumes",
            SubsumptionOutcome.SubsumedBy => "subsumed-by",
            _ => "not-subsumed",
        }));
        return output;
    }

    /// <summary>
    /// ConceptMap $translate. Input: url/conceptMap (+conceptMapVersion), code+system (+version), coding or codeableConcept,
    /// source, target, targetsystem, reverse. Output: result, message, match (equivalence, concept, product, source).
    /// </summary>
    public Parameters TranslateOperation(Parameters parameters, ConceptMap? instance = null)
    {
        var input = new OperationInput(parameters);
        var result = Translate(new TranslateRequest
        {
            ConceptMap = instance ?? input.Resource<ConceptMap>("conceptMap"),
            ConceptMapUrl = input.String("url"),
            ConceptMapVersion = input.String("conceptMapVersion"),
            Source = input.String("source"),
            Target = input.String("target"),
            TargetSystem = input.String("targetsystem") ?? input.String("targetSystem"),
            System = input.String("system"),
            Code = input.String("code"),
            Version = input.String("version"),
            Coding = input.Coding("coding"),
            CodeableConcept = input.CodeableConcept("codeableConcept"),
            Reverse = input.Boolean("reverse") ?? false,
        });

        var output = new Parameters();
        output.Add("result", new FhirBoolean(result.Result));
        if (result.Message is not null)
        {
            output.Add("message", new FhirString(result.Message));
        }

        foreach (var match in result.Matches)
        {
            var matchParameter = new Parameters.ParameterComponent { Name = "match" };
            matchParameter.Part.Add(new Parameters.ParameterComponent { Name = "equivalence", Value = new Code(EquivalenceCode(match.Equivalence)) });
            matchParameter.Part.Add(new Parameters.ParameterComponent { Name = "concept", Value = match.Concept });
            foreach (var product in match.Products)
            {
                var productParameter = new Parameters.ParameterComponent { Name = "product" };
                if (product.Element is not null)
                {
                    productParameter.Part.Add(new Parameters.ParameterComponent { Name = "element", Value = new FhirUri(product.Element) });
                }

                productParameter.Part.Add(new Parameters.ParameterComponent { Name = "concept", Value = product.Concept });
                matchParameter.Part.Add(productParameter);
            }

            if (match.Source is not null)
            {
                matchParameter.Part.Add(new Parameters.ParameterComponent { Name = "source", Value = new FhirUri(match.Source) });
            }

            output.Parameter.Add(matchParameter);
        }

        return output;
    }

    private static string EquivalenceCode(ConceptMapEquivalence e) => e switch
    {
        ConceptMapEquivalence.Relatedto => "relatedto",
        _ => e.ToString().ToLowerInvariant(),
    };

    /// <summary>The $validate-code output parameters for a result; an Unknown outcome gives result = false.</summary>
    public static Parameters ToParameters(ValidateCodeResult result)
    {
        var output = new Parameters();
        output.Add("result", new FhirBoolean(result.IsValid));
        if (result.Message is { } message)
        {
            output.Add("message", new FhirString(message));
        }

        if (result.Display is not null)
        {
            output.Add("display", new FhirString(result.Display));
        }

        if (result.System is not null)
        {
            output.Add("system", new FhirUri(result.System));
        }

        if (!string.IsNullOrEmpty(result.Code))
        {
            output.Add("code", new Code(result.Code));
        }

        if (result.Version is not null)
        {
            output.Add("version", new FhirString(result.Version));
        }

        if (result.Inactive)
        {
            output.Add("inactive", new FhirBoolean(true));
        }

        if (result.UnknownSystem is not null)
        {
            output.Add("x-caused-by-unknown-system", new Canonical(result.UnknownSystem));
        }

        if (result.Issues.Count > 0)
        {
            output.Parameter.Add(new Parameters.ParameterComponent { Name = "issues", Resource = result.ToOperationOutcome() });
        }

        return output;
    }

    /// <summary>404 for a code system that is neither loaded, built in, nor a well-known external one.</summary>
    private void RequireKnownCodeSystem(string url)
    {
        var info = ResolveCodeSystem(url, null, null);
        if (info.Kind == CodeSystemKind.Unavailable && info.Resource is null && !WellKnownExternalSystems.ContainsKey(url))
        {
            throw TerminologyException.NotFound($"Code system '{url}' is not known.");
        }
    }

    private static string WithVersion(string url, string? version) => version is null || url.Contains('|') ? url : $"{url}|{version}";

    /// <summary>Typed access to operation input parameters, tolerant of the usual type variations (code as string, etc.).</summary>
    private sealed class OperationInput(Parameters parameters)
    {
        private Parameters.ParameterComponent? Find(string name) => parameters.Parameter.FirstOrDefault(p => p.Name == name);

        public string? String(string name) => Find(name)?.Value switch
        {
            null => null,
            FhirBoolean b => b.Value is { } v ? (v ? "true" : "false") : null,
            PrimitiveType p => p.ToString() is { Length: > 0 } s ? s : null,
            var other => throw TerminologyException.Invalid($"Parameter '{name}' must be a primitive value, not {other.TypeName}."),
        };

        public IReadOnlyCollection<string> Strings(string name) =>
            parameters.Parameter.Where(p => p.Name == name).Select(p => (p.Value as PrimitiveType)?.ToString()).OfType<string>().ToList();

        public bool? Boolean(string name)
        {
            var value = Find(name)?.Value;
            return value switch
            {
                null => null,
                FhirBoolean b => b.Value,
                PrimitiveType p when p.ToString() is "true" => true,
                PrimitiveType p when p.ToString() is "false" => false,
                _ => throw TerminologyException.Invalid($"Parameter '{name}' must be true or false."),
            };
        }

        public int? Integer(string name)
        {
            var value = Find(name)?.Value;
            return value switch
            {
                null => null,
                Integer i => i.Value,
                UnsignedInt u => u.Value,
                PositiveInt p => p.Value,
                PrimitiveType p when int.TryParse(p.ToString(), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var n) => n,
                _ => throw TerminologyException.Invalid($"Parameter '{name}' must be an integer."),
            };
        }

        public Coding? Coding(string name) => Find(name)?.Value switch
        {
            null => null,
            Coding c => c,
            _ => throw TerminologyException.Invalid($"Parameter '{name}' must be a Coding."),
        };

        public CodeableConcept? CodeableConcept(string name) => Find(name)?.Value switch
        {
            null => null,
            CodeableConcept c => c,
            _ => throw TerminologyException.Invalid($"Parameter '{name}' must be a CodeableConcept."),
        };

        public T? Resource<T>(string name) where T : Resource => Find(name)?.Resource switch
        {
            null => null,
            T t => t,
            var other => throw TerminologyException.Invalid($"Parameter '{name}' must be a {typeof(T).Name}, not a {other.TypeName}."),
        };
    }
}
