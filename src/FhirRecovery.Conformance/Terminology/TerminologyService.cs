using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using FhirRecovery.Conformance.Definitions;
using Hl7.Fhir.Model;

namespace FhirRecovery.Conformance.Terminology;

/// <summary>
/// Local terminology engine over a <see cref="DefinitionResolver"/>: ValueSet $expand and $validate-code, CodeSystem
/// $validate-code, $lookup and $subsumes, ConceptMap $translate. No terminology server is used; what cannot be decided
/// locally is reported as <see cref="CodeValidity.Unknown"/>, never as invalid.
/// <para>
/// How systems are decided: code systems whose CodeSystem (core or package) has content = complete are decided from it;
/// fragment/example content decides the codes it lists and leaves the rest Unknown; not-present content (SNOMED CT in the
/// core) and systems with no definition at all (LOINC, RxNorm, ICD-9/10, NDC, CVX, CPT, any http://hl7.org/fhir/sid/... and
/// every other unknown uri) are Unknown, except for codes a value set lists explicitly. Grammar-based systems are decided by
/// syntax: urn:ietf:bcp:47 (<see cref="Bcp47Grammar"/>), urn:ietf:bcp:13 (<see cref="MimeTypeGrammar"/>),
/// http://unitsofmeasure.org (<see cref="UcumGrammar"/>), urn:ietf:rfc:3986 (<see cref="UriGrammar"/>). ISO 4217 currencies and
/// ISO 3166-1 countries (alpha-2, alpha-3, numeric) are complete code systems built in from the ISO tables.
/// </para>
/// Thread-safe; meant to be one per process. Value set memberships are built on first use and cached, so after the first
/// call a validate-code is a dictionary lookup.
/// </summary>
public sealed partial class TerminologyService
{
    private static readonly IReadOnlyDictionary<string, string> WellKnownExternalSystems = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["http://snomed.info/sct"] = "SNOMED CT",
        ["http://loinc.org"] = "LOINC",
        ["http://www.nlm.nih.gov/research/umls/rxnorm"] = "RxNorm",
        ["http://hl7.org/fhir/sid/icd-10"] = "ICD-10",
        ["http://hl7.org/fhir/sid/icd-10-cm"] = "ICD-10-CM",
        ["http://hl7.org/fhir/sid/icd-9-cm"] = "ICD-9-CM",
        ["http://hl7.org/fhir/sid/ndc"] = "NDC",
        ["http://hl7.org/fhir/sid/cvx"] = "CVX",
        ["http://www.ama-assn.org/go/cpt"] = "CPT",
        ["http://fdasis.nlm.nih.gov"] = "UNII",
        ["http://nucc.org/provider-taxonomy"] = "NUCC provider taxonomy",
        ["urn:iso:std:iso:3166:-2"] = "ISO 3166-2 subdivisions",
    };

    private readonly ConcurrentDictionary<string, CodeSystemInfo?> _codeSystems = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CachedValueSet> _valueSetsByCanonical = new(StringComparer.Ordinal);
    private ConditionalWeakTable<ValueSet, CachedValueSet> _valueSetsByInstance = new();
    private readonly Lazy<IReadOnlyDictionary<string, CodeSystemInfo>> _builtIn;

    public TerminologyService(DefinitionResolver resolver, TerminologyOptions? options = null)
    {
        Resolver = resolver;
        Options = options ?? new TerminologyOptions();
        _builtIn = new Lazy<IReadOnlyDictionary<string, CodeSystemInfo>>(CreateBuiltInSystems);
    }

    public DefinitionResolver Resolver { get; }

    public TerminologyOptions Options { get; }

    /// <summary>Forgets every cached code system index and value set membership (they are rebuilt on next use).</summary>
    public void ClearCaches()
    {
        _codeSystems.Clear();
        _valueSetsByCanonical.Clear();
        _valueSetsByInstance = new ConditionalWeakTable<ValueSet, CachedValueSet>();
        _translationIndex = null;
    }

    private static Dictionary<string, CodeSystemInfo> CreateBuiltInSystems()
    {
        var systems = new Dictionary<string, CodeSystemInfo>(StringComparer.Ordinal);
        ICodeGrammar?[] grammars = [new Bcp47Grammar(), new MimeTypeGrammar(), UcumGrammar.TryLoad(), new UriGrammar()];
        foreach (var grammar in grammars.OfType<ICodeGrammar>())
        {
            systems[grammar.System] = CodeSystemInfo.ForGrammar(grammar);
        }

        systems[IsoData.CountrySystem] = CodeSystemInfo.FromConcepts(IsoData.CountrySystem, "ISO 3166-1 Codes for the representation of names of countries", null, true, IsoData.CountryConcepts());
        systems[IsoData.CurrencySystem] = CodeSystemInfo.FromConcepts(IsoData.CurrencySystem, "ISO 4217 Currency codes", null, true, IsoData.CurrencyConcepts());
        return systems;
    }

    // ---------------------------------------------------------------- code systems

    /// <summary>
    /// What is known about a code system. A CodeSystem with complete content wins; then the built-in grammars and ISO tables;
    /// then a partial or content-less CodeSystem; otherwise the system is unavailable. A requested version that is not loaded
    /// falls back to the loaded one, with a warning.
    /// </summary>
    internal CodeSystemInfo ResolveCodeSystem(string url, string? version, ICollection<string>? warnings)
    {
        if (version is not null && !_builtIn.Value.ContainsKey(url))
        {
            var exact = _codeSystems.GetOrAdd($"{url}|{version}",
                key => Resolver.FindCodeSystem(key) is { Url: not null } cs ? CodeSystemInfo.FromResource(cs) : null);
            if (exact is not null)
            {
                return exact;
            }

            var loaded = ResolveCodeSystem(url, null, null);
            if (loaded.Resource is not null && loaded.Version != version)
            {
                warnings?.Add($"Version '{version}' of code system '{url}' is not available; version '{loaded.Version ?? "(none)"}' was used.");
            }

            return loaded;
        }

        return _codeSystems.GetOrAdd(url, BuildCodeSystem)!;
    }

    private CodeSystemInfo BuildCodeSystem(string url)
    {
        var resource = Resolver.FindCodeSystem(url);
        if (resource is { Url: not null, Content: CodeSystemContentMode.Complete })
        {
            return CodeSystemInfo.FromResource(resource);
        }

        if (_builtIn.Value.TryGetValue(url, out var builtIn))
        {
            return builtIn;
        }

        if (resource is { Url: not null })
        {
            return CodeSystemInfo.FromResource(resource);
        }

        var name = WellKnownExternalSystems.TryGetValue(url, out var n) ? $"{n} ({url})" : $"Code system '{url}'";
        return CodeSystemInfo.ForUnavailable(url, WellKnownExternalSystems.ContainsKey(url)
            ? $"{name} has no content here: its codes cannot be checked locally."
            : $"{name} is not known here: its codes cannot be checked locally.");
    }

    // ---------------------------------------------------------------- value set memberships

    /// <summary>A value set with its membership (or the error that prevented building it), cached per canonical and per instance.</summary>
    internal sealed class CachedValueSet(ValueSet? valueSet, MembershipSet? set, TerminologyException? error)
    {
        public ValueSet? ValueSet { get; } = valueSet;
        public MembershipSet? Set { get; } = set;
        public TerminologyException? Error { get; } = error;
    }

    internal CachedValueSet GetValueSet(string canonical)
    {
        if (_valueSetsByCanonical.TryGetValue(canonical, out var cached))
        {
            return cached;
        }

        var valueSet = Resolver.FindValueSet(canonical);
        cached = valueSet is null
            ? new CachedValueSet(null, null, TerminologyException.NotFound($"Value set '{canonical}' is not known."))
            : GetValueSet(valueSet, new ImportStack());
        return _valueSetsByCanonical.GetOrAdd(canonical, cached);
    }

    internal CachedValueSet GetValueSet(ValueSet valueSet) => GetValueSet(valueSet, new ImportStack());

    internal CachedValueSet GetValueSet(ValueSet valueSet, ImportStack imports)
    {
        var table = _valueSetsByInstance;
        if (table.TryGetValue(valueSet, out var cached))
        {
            return cached;
        }

        // Built outside any lock: a value set importing others must not wait on a lock another thread holds while it waits on
        // ours. Two threads may build the same set once at start-up; the first stored wins.
        try
        {
            cached = new CachedValueSet(valueSet, new ValueSetCompiler(this, imports).Compile(valueSet), null);
        }
        catch (TerminologyException ex)
        {
            cached = new CachedValueSet(valueSet, null, ex);
        }

        table.TryAdd(valueSet, cached);
        return table.TryGetValue(valueSet, out var stored) ? stored : cached;
    }

    /// <summary>The value sets being built on this call chain, to detect import cycles.</summary>
    internal sealed class ImportStack
    {
        private readonly List<ValueSet> _stack = [];

        public bool Contains(ValueSet vs) => _stack.Any(v => ReferenceEquals(v, vs));

        public void Push(ValueSet vs) => _stack.Add(vs);

        public void Pop() => _stack.RemoveAt(_stack.Count - 1);

        public string Describe(ValueSet repeated) =>
            string.Join(" -> ", _stack.SkipWhile(v => !ReferenceEquals(v, repeated)).Append(repeated).Select(v => v.Url ?? v.Id ?? "(anonymous)"));
    }

    // ---------------------------------------------------------------- ValueSet validate-code

    /// <summary>Is system|code in the value set? <paramref name="system"/> may be null: it is then inferred from the value set.</summary>
    public ValidateCodeResult ValueSetValidateCode(string valueSet, string? system, string code, string? display = null,
        string? systemVersion = null, bool? abstractAllowed = null) =>
        Validate(GetValueSet(valueSet), valueSet, system, code, display, systemVersion, abstractAllowed ?? Options.AbstractCodesValid);

    public ValidateCodeResult ValueSetValidateCode(ValueSet valueSet, string? system, string code, string? display = null,
        string? systemVersion = null, bool? abstractAllowed = null) =>
        Validate(GetValueSet(valueSet), ValueSetLabel(valueSet), system, code, display, systemVersion, abstractAllowed ?? Options.AbstractCodesValid);

    public ValidateCodeResult ValueSetValidateCode(string valueSet, Coding coding, bool? abstractAllowed = null) =>
        ValueSetValidateCode(GetValueSet(valueSet), valueSet, coding, abstractAllowed);

    public ValidateCodeResult ValueSetValidateCode(ValueSet valueSet, Coding coding, bool? abstractAllowed = null) =>
        ValueSetValidateCode(GetValueSet(valueSet), ValueSetLabel(valueSet), coding, abstractAllowed);

    /// <summary>Valid when any coding is in the value set; otherwise Unknown when any coding cannot be decided; else Invalid.</summary>
    public ValidateCodeResult ValueSetValidateCode(string valueSet, CodeableConcept concept, bool? abstractAllowed = null) =>
        ValueSetValidateCode(GetValueSet(valueSet), valueSet, concept, abstractAllowed);

    public ValidateCodeResult ValueSetValidateCode(ValueSet valueSet, CodeableConcept concept, bool? abstractAllowed = null) =>
        ValueSetValidateCode(GetValueSet(valueSet), ValueSetLabel(valueSet), concept, abstractAllowed);

    private ValidateCodeResult ValueSetValidateCode(CachedValueSet cached, string label, Coding coding, bool? abstractAllowed) =>
        Validate(cached, label, coding.System, coding.Code ?? "", coding.Display, coding.Version, abstractAllowed ?? Options.AbstractCodesValid);

    private ValidateCodeResult ValueSetValidateCode(CachedValueSet cached, string label, CodeableConcept concept, bool? abstractAllowed) =>
        CombineCodings(concept, coding => ValueSetValidateCode(cached, label, coding, abstractAllowed), $"value set '{label}'");

    private static string ValueSetLabel(ValueSet vs) => vs.Url ?? vs.Id ?? "(anonymous value set)";

    private static ValidateCodeResult CombineCodings(CodeableConcept concept, Func<Coding, ValidateCodeResult> check, string target)
    {
        if (concept.Coding.Count == 0)
        {
            return new ValidateCodeResult
            {
                Outcome = CodeValidity.Invalid,
                Issues = [TerminologyIssue.Error(OperationOutcome.IssueType.CodeInvalid, $"The CodeableConcept has no coding, so it has no code from {target}.")],
            };
        }

        var results = concept.Coding.Select(check).ToList();
        var valid = results.FindIndex(r => r.IsValid);
        if (valid >= 0)
        {
            return results[valid] with { CodingIndex = valid };
        }

        var unknown = results.FindIndex(r => r.Outcome == CodeValidity.Unknown);
        var issues = results.SelectMany(r => r.Issues).Distinct().ToList();
        if (unknown >= 0)
        {
            return results[unknown] with { CodingIndex = unknown, Issues = issues };
        }

        return new ValidateCodeResult
        {
            Outcome = CodeValidity.Invalid,
            Issues = results.Count == 1 ? issues : [.. issues, TerminologyIssue.Error(OperationOutcome.IssueType.CodeInvalid, $"None of the codings is in {target}.")],
        };
    }

    private ValidateCodeResult Validate(CachedValueSet cached, string label, string? system, string code, string? display, string? version, bool abstractAllowed)
    {
        if (cached.Set is not { } set)
        {
            var error = cached.Error!;
            return new ValidateCodeResult
            {
                Outcome = CodeValidity.Unknown,
                System = system,
                Code = code,
                Issues = [TerminologyIssue.Warning(error.IssueType, error.Message)],
            };
        }

        if (string.IsNullOrEmpty(code))
        {
            return Invalid(system, code, $"No code was given to check against value set '{label}'.");
        }

        if (system is null)
        {
            system = InferSystem(set, code);
            if (system is null)
            {
                return Invalid(null, code, $"The code '{code}' has no system, and no system of value set '{label}' has it.");
            }
        }

        var value = set.Contains(system, code, out var member, out var reason);
        switch (value)
        {
            case Tv.Yes when member is not null:
                return ValidMember(member, code, display, version, abstractAllowed, "value set", label);
            case Tv.Yes:
                // A code admitted by a grammar rule (e.g. all of BCP 13): nothing is known about it but its syntax.
                var grammar = ResolveCodeSystem(system, null, null).Grammar?.Check(code);
                return new ValidateCodeResult { Outcome = CodeValidity.Valid, System = system, Code = code, Display = grammar?.Display };
            case Tv.Maybe:
                return Unknown(system, code, reason ?? $"Whether '{code}' is in value set '{label}' cannot be decided locally.");
            default:
                return Invalid(system, code, NotInValueSetMessage(system, code, label));
        }
    }

    private static string? InferSystem(MembershipSet set, string code)
    {
        foreach (var part in set.Systems.Values)
        {
            if (part.Get(code, out _) == Tv.Yes)
            {
                return part.System;
            }
        }

        return set.Systems.Count == 1 ? set.Systems.Keys.First() : null;
    }

    private string NotInValueSetMessage(string system, string code, string label)
    {
        var info = ResolveCodeSystem(system, null, null);
        if (info.Kind == CodeSystemKind.Complete && info.Find(code) is null)
        {
            return $"Unknown code '{code}' in code system '{system}', so it is not in value set '{label}'.";
        }

        if (info.Kind == CodeSystemKind.Grammar && info.Grammar!.Check(code) is { IsValid: false, Error: { } error })
        {
            return $"{error} It is not in value set '{label}'.";
        }

        return $"The code '{code}' from system '{system}' is not in value set '{label}'.";
    }

    /// <param name="whereKind">"value set" or "code system", and <paramref name="whereName"/> its canonical: for messages only.</param>
    private static ValidateCodeResult ValidMember(Member member, string code, string? display, string? version, bool abstractAllowed, string whereKind, string whereName)
    {
        // The common case (a member, given as the code system spells it, with its own display or none) shares one result.
        var plain = (display is null || display == member.Display || display == member.Concept?.Display)
                    && (version is null || version == member.Version)
                    && !member.Inactive && member.Concept?.Deprecated != true
                    && (abstractAllowed || !member.Abstract) && string.Equals(member.Code, code, StringComparison.Ordinal);
        if (plain)
        {
            return member.PlainValidResult ??= new ValidateCodeResult
            {
                Outcome = CodeValidity.Valid,
                System = member.System,
                Code = member.Code,
                Version = member.Version,
                Display = member.Concept?.Display ?? member.Display,
                Abstract = member.Abstract,
                Inactive = member.Inactive,
            };
        }

        var issues = new List<TerminologyIssue>();
        var outcome = CodeValidity.Valid;
        if (member.Abstract && !abstractAllowed)
        {
            outcome = CodeValidity.Invalid;
            issues.Add(TerminologyIssue.Error(OperationOutcome.IssueType.BusinessRule,
                $"The code '{member.Code}' from system '{member.System}' is abstract (not selectable), and abstract codes are not allowed here ({whereKind} '{whereName}')."));
        }

        if (!string.Equals(member.Code, code, StringComparison.Ordinal))
        {
            issues.Add(TerminologyIssue.Information(OperationOutcome.IssueType.CodeInvalid,
                $"The code '{code}' differs in case from '{member.Code}' in the case-insensitive system '{member.System}'."));
        }

        if (member.Inactive)
        {
            issues.Add(TerminologyIssue.Warning(OperationOutcome.IssueType.BusinessRule,
                $"The code '{member.Code}' from system '{member.System}' is inactive{(member.Concept?.Status is { } s ? $" (status {s})" : "")}."));
        }
        else if (member.Concept?.Deprecated == true)
        {
            issues.Add(TerminologyIssue.Information(OperationOutcome.IssueType.BusinessRule,
                $"The code '{member.Code}' from system '{member.System}' is deprecated."));
        }

        if (version is not null && member.Version is not null && version != member.Version)
        {
            issues.Add(TerminologyIssue.Warning(OperationOutcome.IssueType.NotFound,
                $"Version '{version}' of code system '{member.System}' is not available; the code was checked against version '{member.Version}'."));
        }

        if (display is not null && CheckDisplay(member, display) is { } displayIssue)
        {
            issues.Add(displayIssue);
        }

        return new ValidateCodeResult
        {
            Outcome = outcome,
            System = member.System,
            Code = member.Code,
            Version = member.Version,
            Display = member.Concept?.Display ?? member.Display,
            Abstract = member.Abstract,
            Inactive = member.Inactive,
            Issues = issues,
        };
    }

    /// <summary>
    /// A display is right when it matches (ignoring case and runs of whitespace) the code system's display, one of its
    /// designations, or the value set's own display or designations. Only the code system is an authority: without its
    /// content (e.g. a LOINC code listed in a value set) a different display is not reported.
    /// </summary>
    private static TerminologyIssue? CheckDisplay(Member member, string display)
    {
        var concept = member.Concept;
        var candidates = new List<string?> { member.Display, concept?.Display };
        if (concept is not null)
        {
            candidates.AddRange(concept.Designations.Select(d => d.Value));
        }

        candidates.AddRange(member.ValueSetDesignations.Select(d => d.Value));
        var wanted = NormalizeDisplay(display);
        if (candidates.Any(c => c is not null && string.Equals(NormalizeDisplay(c), wanted, StringComparison.OrdinalIgnoreCase)))
        {
            return null;
        }

        if (concept is null)
        {
            return null;
        }

        var correct = concept.Display ?? member.Display;
        return TerminologyIssue.Warning(OperationOutcome.IssueType.Invalid, correct is null
            ? $"Wrong display '{display}' for {member.System}#{member.Code}: the code system gives it no display."
            : $"Wrong display '{display}' for {member.System}#{member.Code}: the display is '{correct}'.");
    }

    private static string NormalizeDisplay(string s) => string.Join(' ', s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    private static ValidateCodeResult Invalid(string? system, string? code, string message) => new()
    {
        Outcome = CodeValidity.Invalid,
        System = system,
        Code = code,
        Issues = [TerminologyIssue.Error(OperationOutcome.IssueType.CodeInvalid, message)],
    };

    private ValidateCodeResult Unknown(string system, string code, string reason)
    {
        var info = ResolveCodeSystem(system, null, null);
        return new ValidateCodeResult
        {
            Outcome = CodeValidity.Unknown,
            System = system,
            Code = code,
            UnknownSystem = info.Kind is CodeSystemKind.Unavailable or CodeSystemKind.Partial ? system : null,
            Issues = [TerminologyIssue.Warning(OperationOutcome.IssueType.NotSupported, reason)],
        };
    }

    // ---------------------------------------------------------------- CodeSystem validate-code

    /// <summary>
    /// Is <paramref name="code"/> a code of <paramref name="system"/>? Abstract codes are valid unless
    /// <paramref name="abstractAllowed"/> is false: they are codes of the system.
    /// </summary>
    public ValidateCodeResult CodeSystemValidateCode(string system, string code, string? display = null, string? version = null, bool? abstractAllowed = null)
    {
        var warnings = new List<string>();
        var info = ResolveCodeSystem(system, version, warnings);

        // Only a version that fell back to another one is worth a warning.
        return ValidateInCodeSystem(info, code, display, warnings.Count > 0 ? version : null, abstractAllowed);
    }

    /// <summary>Validate-code against a CodeSystem given as a resource (e.g. the <c>codeSystem</c> parameter).</summary>
    public ValidateCodeResult CodeSystemValidateCode(CodeSystem codeSystem, string code, string? display = null, bool? abstractAllowed = null) =>
        ValidateInCodeSystem(CodeSystemInfo.FromResource(codeSystem), code, display, null, abstractAllowed);

    private ValidateCodeResult ValidateInCodeSystem(CodeSystemInfo info, string code, string? display, string? fallbackVersion, bool? abstractAllowed)
    {
        var system = info.Url;
        if (string.IsNullOrEmpty(code))
        {
            return Invalid(system, code, $"No code was given to check against code system '{system}'.");
        }

        switch (info.Kind)
        {
            case CodeSystemKind.Complete or CodeSystemKind.Partial:
                var concept = info.Find(code);
                if (concept is null)
                {
                    return info.Kind == CodeSystemKind.Complete
                        ? Invalid(system, code, $"Unknown code '{code}' in code system '{system}'.")
                        : Unknown(system, code, info.UnavailableReason!);
                }

                return ValidMember(info.MemberFor(concept), code, display, fallbackVersion, abstractAllowed ?? true, "code system", system);
            case CodeSystemKind.Grammar:
                var check = info.Grammar!.Check(code);
                return check.IsValid
                    ? new ValidateCodeResult { Outcome = CodeValidity.Valid, System = system, Code = code, Display = check.Display }
                    : Invalid(system, code, check.Error!);
            default:
                return Unknown(system, code, info.UnavailableReason!);
        }
    }

    public ValidateCodeResult CodeSystemValidateCode(Coding coding, bool? abstractAllowed = null) =>
        coding.System is null
            ? Invalid(null, coding.Code, "The coding has no system.")
            : CodeSystemValidateCode(coding.System, coding.Code ?? "", coding.Display, coding.Version, abstractAllowed);

    /// <summary>Valid when a coding of <paramref name="system"/> is a valid code; codings of other systems do not count.</summary>
    public ValidateCodeResult CodeSystemValidateCode(string system, CodeableConcept concept, bool? abstractAllowed = null)
    {
        var matching = new CodeableConcept { Coding = concept.Coding.Where(c => c.System == system).ToList() };
        return CombineCodings(matching, c => CodeSystemValidateCode(c, abstractAllowed), $"code system '{system}'");
    }

    // ---------------------------------------------------------------- $lookup and $subsumes

    /// <summary>
    /// CodeSystem $lookup. <paramref name="properties"/> limits the returned properties (all when null). Throws
    /// <see cref="TerminologyException"/> (not-found) for unknown systems or codes.
    /// </summary>
    public LookupResult Lookup(string system, string code, string? version = null, string? displayLanguage = null, IReadOnlyCollection<string>? properties = null) =>
        LookupIn(ResolveCodeSystem(system, version, null), code, displayLanguage, properties);

    /// <summary>$lookup in a CodeSystem given as a resource.</summary>
    public LookupResult Lookup(CodeSystem codeSystem, string code, string? displayLanguage = null, IReadOnlyCollection<string>? properties = null) =>
        LookupIn(CodeSystemInfo.FromResource(codeSystem), code, displayLanguage, properties);

    private static LookupResult LookupIn(CodeSystemInfo info, string code, string? displayLanguage, IReadOnlyCollection<string>? properties)
    {
        var system = info.Url;
        switch (info.Kind)
        {
            case CodeSystemKind.Grammar:
                var check = info.Grammar!.Check(code);
                if (!check.IsValid)
                {
                    throw TerminologyException.NotFound(check.Error!);
                }

                return new LookupResult
                {
                    Name = info.Name ?? system,
                    System = system,
                    Version = (info.Grammar as UcumGrammar)?.Version,
                    Code = code,
                    Display = check.Display ?? code,
                };
            case CodeSystemKind.Unavailable:
                throw TerminologyException.NotFound(info.UnavailableReason!);
        }

        var concept = info.Find(code) ?? throw TerminologyException.NotFound(info.Kind == CodeSystemKind.Complete
            ? $"Unknown code '{code}' in code system '{system}'."
            : $"The code '{code}' is not in the locally available part of code system '{system}'.");

        bool Wanted(string property) => properties is null || properties.Count == 0 || properties.Contains(property);

        var props = new List<LookupProperty>();
        foreach (var parent in concept.Parents)
        {
            if (Wanted("parent"))
            {
                props.Add(new LookupProperty("parent", new Code(parent.Code), parent.Display));
            }
        }

        foreach (var child in concept.Children)
        {
            if (Wanted("child"))
            {
                props.Add(new LookupProperty("child", new Code(child.Code), child.Display));
            }
        }

        if (Wanted("inactive"))
        {
            props.Add(new LookupProperty("inactive", new FhirBoolean(concept.Inactive)));
        }

        if (concept.Definition is not null && Wanted("definition"))
        {
            props.Add(new LookupProperty("definition", new FhirString(concept.Definition)));
        }

        foreach (var p in concept.Properties)
        {
            if (p.Code is null || p.Value is null || info.IsParentProperty(p.Code) || info.IsChildProperty(p.Code) || !Wanted(p.Code))
            {
                continue;
            }

            if (p.Code == "inactive" && Wanted("inactive"))
            {
                continue;
            }

            props.Add(new LookupProperty(p.Code, p.Value, info.PropertyDefinitions.GetValueOrDefault(p.Code)?.Description));
        }

        return new LookupResult
        {
            Name = info.Name ?? system,
            System = system,
            Version = info.Version,
            Code = concept.Code,
            Display = DisplayIn(concept, displayLanguage, info.Resource?.Language),
            Definition = concept.Definition,
            Abstract = concept.Abstract,
            Inactive = concept.Inactive,
            Designations = Wanted("designation") || properties is null
                ? concept.Designations.Where(d => d.Value is not null).Select(d => new LookupDesignation(d.Language, d.Use, d.Value!)).ToList()
                : [],
            Properties = props,
        };
    }

    /// <summary>The display in the requested language: a designation in it when there is one, else the code system's display.</summary>
    internal static string? DisplayIn(ConceptInfo concept, string? language, string? codeSystemLanguage)
    {
        if (language is null || concept.Designations.Count == 0 || LanguageMatches(codeSystemLanguage, language))
        {
            return concept.Display;
        }

        var designation = concept.Designations.FirstOrDefault(d => LanguageMatches(d.Language, language) && d.Use?.Code is null or "display")
                          ?? concept.Designations.FirstOrDefault(d => LanguageMatches(d.Language, language));
        return designation?.Value ?? concept.Display;
    }

    /// <summary>"de" matches "de-CH" either way round: a regional request falls back to the language, and vice versa.</summary>
    private static bool LanguageMatches(string? tag, string wanted) =>
        tag is not null && (tag.Equals(wanted, StringComparison.OrdinalIgnoreCase)
                            || tag.StartsWith(wanted + "-", StringComparison.OrdinalIgnoreCase)
                            || wanted.StartsWith(tag + "-", StringComparison.OrdinalIgnoreCase));

    /// <summary>CodeSystem $subsumes on a code system with a hierarchy (nesting, parent/child properties).</summary>
    public SubsumptionOutcome Subsumes(string system, string codeA, string codeB, string? version = null) =>
        SubsumesIn(ResolveCodeSystem(system, version, null), codeA, codeB);

    /// <summary>$subsumes in a CodeSystem given as a resource.</summary>
    public SubsumptionOutcome Subsumes(CodeSystem codeSystem, string codeA, string codeB) =>
        SubsumesIn(CodeSystemInfo.FromResource(codeSystem), codeA, codeB);

    private static SubsumptionOutcome SubsumesIn(CodeSystemInfo info, string codeA, string codeB)
    {
        var system = info.Url;
        if (!info.HasConcepts)
        {
            if (info.Kind == CodeSystemKind.Grammar && info.CodeComparer.Equals(codeA, codeB) && info.Grammar!.Check(codeA).IsValid)
            {
                return SubsumptionOutcome.Equivalent;
            }

            throw info.Kind == CodeSystemKind.Unavailable && info.Resource is null && !WellKnownExternalSystems.ContainsKey(system)
                ? TerminologyException.NotFound(info.UnavailableReason!)
                : TerminologyException.NotSupported($"Subsumption cannot be tested locally for code system '{system}'.");
        }

        if (info.Resource?.HierarchyMeaning is { } meaning && meaning != CodeSystem.CodeSystemHierarchyMeaning.IsA)
        {
            throw TerminologyException.NotSupported($"The hierarchy of code system '{system}' means '{info.Resource.HierarchyMeaningElement?.JsonValue}', not is-a: it implies no subsumption.");
        }

        var a = info.Find(codeA) ?? throw TerminologyException.NotFound($"Unknown code '{codeA}' (codeA) in code system '{system}'.");
        var b = info.Find(codeB) ?? throw TerminologyException.NotFound($"Unknown code '{codeB}' (codeB) in code system '{system}'.");
        if (ReferenceEquals(a, b))
        {
            return SubsumptionOutcome.Equivalent;
        }

        if (CodeSystemInfo.IsAncestorOf(a, b))
        {
            return SubsumptionOutcome.Subsumes;
        }

        return CodeSystemInfo.IsAncestorOf(b, a) ? SubsumptionOutcome.SubsumedBy : SubsumptionOutcome.NotSubsumed;
    }
}
