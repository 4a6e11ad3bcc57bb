using System.Text;
using System.Text.Encodings.Web;

namespace FhirRecovery.Server.Security.Embedded;

/// <summary>The embedded server's HTML: login, consent with patient picker, EHR launcher. Plain forms, no script.</summary>
internal static class SmartPages
{
    private static readonly HtmlEncoder Html = HtmlEncoder.Default;

    public static IResult Page(string title, string body, int status = StatusCodes.Status200OK) => Results.Content(
        $$"""
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{E(title)}} · FhirRecovery</title>
        <style>
          body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1d2a33}
          h1{font-size:1.4rem} label{display:block;margin:.8rem 0 .2rem} input[type=text],input[type=password],select{width:100%;padding:.45rem;font-size:1rem}
          button{margin:1rem .5rem 0 0;padding:.5rem 1.2rem;font-size:1rem} .error{color:#a01818} .scopes li{font-family:monospace}
          fieldset{border:1px solid #c9d3da;padding:.6rem 1rem} .note{color:#5b6b76;font-size:.9rem}
        </style></head>
        <body><h1>{{E(title)}}</h1>
        {{body}}
        <p class="note">FhirRecovery embedded SMART authorization server (demo users from configuration).</p>
        </body></html>
        """, "text/html; charset=utf-8", Encoding.UTF8, status);

    public static string E(string? text) => Html.Encode(text ?? "");

    public static string Hidden(string name, string? value) => $"<input type=\"hidden\" name=\"{E(name)}\" value=\"{E(value)}\">";

    public static IResult Login(string returnUrl, string antiforgeryField, string antiforgeryToken, string? error) => Page("Sign in",
        $"""
        {(error is null ? "" : $"<p class=\"error\" id=\"error\">{E(error)}</p>")}
        <form method="post" action="/smart/login" id="login-form">
          {Hidden(antiforgeryField, antiforgeryToken)}{Hidden("returnUrl", returnUrl)}
          <label for="username">User name</label><input type="text" id="username" name="username" autocomplete="username" autofocus>
          <label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password">
          <button type="submit" id="login">Sign in</button>
        </form>
        """, error is null ? StatusCodes.Status200OK : StatusCodes.Status401Unauthorized);

    /// <summary>The consent form: posts the authorization request back with the decision (and the chosen patient).</summary>
    public static IResult Consent(string clientName, string user, IReadOnlyList<string> scopes, IEnumerable<KeyValuePair<string, string?>> requestParameters,
        IReadOnlyList<(string Id, string Name)>? patients, string? fixedPatient, string antiforgeryField, string antiforgeryToken, string? error)
    {
        var body = new StringBuilder();
        if (error is not null)
        {
            body.Append($"<p class=\"error\" id=\"error\">{E(error)}</p>");
        }

        body.Append($"<p><b id=\"client-name\">{E(clientName)}</b> asks to access FHIR data as <b>{E(user)}</b>.</p>");
        body.Append("<form method=\"post\" action=\"/connect/authorize\" id=\"consent-form\">");
        body.Append(Hidden(antiforgeryField, antiforgeryToken));
        foreach (var (name, value) in requestParameters)
        {
            body.Append(Hidden(name, value));
        }

        if (patients is not null)
        {
            body.Append("<fieldset id=\"patient-picker\"><legend>Which person's record?</legend>");
            if (patients.Count == 0)
            {
                body.Append("<p class=\"error\">You have no patient you may choose.</p>");
            }

            for (var i = 0; i < patients.Count; i++)
            {
                var (id, name) = patients[i];
                body.Append($"<label><input type=\"radio\" name=\"smart_patient\" value=\"{E(id)}\" data-patient=\"{E(id)}\"{(i == 0 ? " checked" : "")}> {E(name)} <span class=\"note\">(Patient/{E(id)})</span></label>");
            }

            body.Append("</fieldset>");
        }
        else if (fixedPatient is not null)
        {
            body.Append($"<p>Patient in context: <b id=\"patient-in-context\">{E(fixedPatient)}</b></p>");
        }

        body.Append("<p>It will be allowed to:</p><ul class=\"scopes\" id=\"scopes\">");
        foreach (var scope in scopes)
        {
            body.Append($"<li>{E(scope)}</li>");
        }

        body.Append("</ul>");
        body.Append("<button type=\"submit\" name=\"smart_decision\" value=\"allow\" id=\"allow\">Allow</button>");
        body.Append("<button type=\"submit\" name=\"smart_decision\" value=\"deny\" id=\"deny\">Deny</button>");
        body.Append("</form>");
        return Page("Allow access?", body.ToString());
    }

    public static IResult Message(string title, string message, int status) => Page(title, $"<p class=\"error\">{E(message)}</p>", status);
}
