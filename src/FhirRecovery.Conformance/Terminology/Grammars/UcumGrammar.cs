using System.Xml.Linq;

namespace FhirRecovery.Conformance.Terminology;

/// <summary>
/// <c>http://unitsofmeasure.org</c>, decided locally by parsing the case-sensitive UCUM syntax (main-term, term, component,
/// annotatable, simple-unit, exponent, factor, annotation, parentheses) against the atoms and prefixes of the UCUM essence
/// file that Fhir.Metrics (a dependency of Hl7.Fhir.Base) embeds; prefixes are only allowed on metric atoms. Fhir.Metrics' own
/// parser is not used to decide validity: it accepts "mg/" and "mg//dL" and rejects parentheses, all contrary to UCUM.
/// </summary>
internal sealed class UcumGrammar : CodeGrammar
{
    public const string Url = "http://unitsofmeasure.org";

    private readonly Dictionary<string, string> _atoms;
    private readonly HashSet<string> _metricAtoms;
    private readonly string[] _prefixes;

    private UcumGrammar(Dictionary<string, string> atoms, HashSet<string> metricAtoms, string[] prefixes, string? version)
    {
        _atoms = atoms;
        _metricAtoms = metricAtoms;
        _prefixes = prefixes;
        Version = version;
    }

    public override string System => Url;

    public override string Name => "Unified Code for Units of Measure (UCUM)";

    public override bool CaseSensitive => true;

    public string? Version { get; }

    /// <summary>Reads the UCUM essence embedded in Fhir.Metrics; null when it is not there (then UCUM codes are "unknown").</summary>
    public static UcumGrammar? TryLoad()
    {
        var assembly = typeof(Fhir.Metrics.UCUM).Assembly;
        var name = assembly.GetManifestResourceNames().FirstOrDefault(n => n.EndsWith("ucum-essence.xml", StringComparison.OrdinalIgnoreCase));
        if (name is null)
        {
            return null;
        }

        using var stream = assembly.GetManifestResourceStream(name);
        if (stream is null)
        {
            return null;
        }

        var root = XDocument.Load(stream).Root;
        if (root is null)
        {
            return null;
        }

        var atoms = new Dictionary<string, string>(StringComparer.Ordinal);
        var metric = new HashSet<string>(StringComparer.Ordinal);
        var prefixes = new List<string>();
        foreach (var element in root.Elements())
        {
            var code = (string?)element.Attribute("Code");
            if (code is null)
            {
                continue;
            }

            switch (element.Name.LocalName)
            {
                case "prefix":
                    prefixes.Add(code);
                    break;
                case "base-unit":
                    atoms[code] = (string?)element.Element("name") ?? code;
                    metric.Add(code);
                    break;
                case "unit":
                    atoms[code] = (string?)element.Element("name") ?? code;
                    if ((string?)element.Attribute("isMetric") == "yes")
                    {
                        metric.Add(code);
                    }

                    break;
            }
        }

        // Longest prefix first, so "da" (deka) is tried before "d" (deci).
        return new UcumGrammar(atoms, metric, prefixes.OrderByDescending(p => p.Length).ToArray(), (string?)root.Attribute("version"));
    }

    protected override GrammarResult Parse(string code)
    {
        if (code.Length == 0)
        {
            return GrammarResult.Invalid("An empty string is not a UCUM unit (use '1' for unity).");
        }

        if (code.Any(c => c < ' ' || c > '~') || OutsideAnnotations(code).Contains(' '))
        {
            return GrammarResult.Invalid($"'{code}' is not a UCUM unit: only printable ASCII is allowed, and spaces only in annotations.");
        }

        var parser = new Parser(this, code);
        return parser.ParseMainTerm() is { } error ? GrammarResult.Invalid($"'{code}' is not a valid UCUM unit: {error}") : GrammarResult.Valid(code);
    }

    // UCUM itself excludes spaces from annotations, but its own table of common units (and so FHIR's ucum-common value set)
    // has annotations such as "{# of calculi}"; like the HL7 tooling, spaces are accepted there.
    private static string OutsideAnnotations(string code)
    {
        var text = new System.Text.StringBuilder(code.Length);
        var depth = 0;
        foreach (var c in code)
        {
            if (c == '{')
            {
                depth++;
            }
            else if (c == '}' && depth > 0)
            {
                depth--;
            }
            else if (depth == 0)
            {
                text.Append(c);
            }
        }

        return text.ToString();
    }

    private bool IsSimpleUnit(string symbol)
    {
        if (_atoms.ContainsKey(symbol))
        {
            return true;
        }

        foreach (var prefix in _prefixes)
        {
            if (symbol.Length > prefix.Length && symbol.StartsWith(prefix, StringComparison.Ordinal) && _metricAtoms.Contains(symbol[prefix.Length..]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Recursive descent over the UCUM grammar; each method returns an error text or null.</summary>
    private sealed class Parser(UcumGrammar grammar, string text)
    {
        private int _pos;
        private int _depth;

        public string? ParseMainTerm()
        {
            if (Peek == '/')
            {
                _pos++;
            }

            var error = ParseTerm();
            if (error is not null)
            {
                return error;
            }

            return _pos == text.Length ? null : $"unexpected '{text[_pos]}' at position {_pos + 1}.";
        }

        private char? Peek => _pos < text.Length ? text[_pos] : null;

        private string? ParseTerm()
        {
            if (++_depth > 50)
            {
                return "too deeply nested.";
            }

            var error = ParseComponent();
            while (error is null && Peek is '.' or '/')
            {
                _pos++;
                error = ParseComponent();
            }

            _depth--;
            return error;
        }

        private string? ParseComponent()
        {
            switch (Peek)
            {
                case null:
                    return "a unit is missing at the end.";
                case '(':
                {
                    _pos++;
                    var error = ParseTerm();
                    if (error is not null)
                    {
                        return error;
                    }

                    if (Peek != ')')
                    {
                        return "a '(' is not closed.";
                    }

                    _pos++;

                    // Not in the UCUM grammar, but in UCUM's own common-units table ("g/(8.h){shift}"): accepted, as there.
                    return Peek == '{' ? ParseAnnotation() : null;
                }
                case '{':
                    return ParseAnnotation();
                case '.' or '/' or ')' or '}':
                    return $"a unit is missing before '{Peek}' at position {_pos + 1}.";
            }

            var start = _pos;
            while (_pos < text.Length && text[_pos] is not ('.' or '/' or '(' or ')' or '{' or '}'))
            {
                if (text[_pos] == '[')
                {
                    var close = text.IndexOf(']', _pos);
                    if (close < 0)
                    {
                        return "a '[' is not closed.";
                    }

                    _pos = close + 1;
                }
                else
                {
                    _pos++;
                }
            }

            var symbol = text[start.._pos];
            if (symbol.All(char.IsAsciiDigit))
            {
                // A factor (an integer), e.g. the 24 in "mL/(24.h)".
                return Peek == '{' ? ParseAnnotation() : null;
            }

            if (!grammar.IsSimpleUnit(symbol) && !IsUnitWithExponent(symbol))
            {
                return $"'{symbol}' is not a known unit.";
            }

            return Peek == '{' ? ParseAnnotation() : null;
        }

        private bool IsUnitWithExponent(string symbol)
        {
            var i = symbol.Length;
            while (i > 0 && char.IsAsciiDigit(symbol[i - 1]))
            {
                i--;
            }

            if (i == symbol.Length || i == 0)
            {
                return false;
            }

            if (symbol[i - 1] is '+' or '-')
            {
                i--;
            }

            return i > 0 && grammar.IsSimpleUnit(symbol[..i]);
        }

        private string? ParseAnnotation()
        {
            var close = text.IndexOf('}', _pos);
            if (close < 0)
            {
                return "a '{' is not closed.";
            }

            var content = text.AsSpan(_pos + 1, close - _pos - 1);
            if (content.Length == 0 || content.Contains('{'))
            {
                return "an annotation must hold at least one character and no braces.";
            }

            _pos = close + 1;
            return null;
        }
    }
}
