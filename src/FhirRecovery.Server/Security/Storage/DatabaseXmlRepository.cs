using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace FhirRecovery.Server.Security.Storage;

/// <summary>
/// ASP.NET Data Protection's key ring in the shared database: the login cookie, the consent form's anti-forgery token and
/// EHR launch handles made by one server instance are readable by every other.
/// </summary>
public sealed class DatabaseXmlRepository(AuthDatabase database) : IXmlRepository
{
    // Data Protection's repository API is synchronous; it is called when the key ring is (re)loaded, not per request.
    public IReadOnlyCollection<XElement> GetAllElements() =>
        database.QueryAsync("SELECT xml FROM auth_data_protection_keys", CancellationToken.None).GetAwaiter().GetResult()
            .Select(row => XElement.Parse((string)row["xml"]!))
            .ToList();

    public void StoreElement(XElement element, string friendlyName) =>
        database.ExecuteAsync("INSERT INTO auth_data_protection_keys (name, xml) VALUES (@name, @xml) ON CONFLICT (name) DO NOTHING", CancellationToken.None,
            ("@name", friendlyName), ("@xml", element.ToString(SaveOptions.DisableFormatting))).GetAwaiter().GetResult();
}
