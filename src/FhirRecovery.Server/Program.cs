using FhirRecovery.Server.BulkExport;
using FhirRecovery.Server.Configuration;
using FhirRecovery.Server.Faults;
using FhirRecovery.Server.Mapping;
using FhirRecovery.Server.Security;
using FhirRecovery.Server.Startup;

// Before ASP.NET builds any Regex: profiles and invariants bring patterns from outside (see RegexTimeout).
FhirRecovery.Conformance.RegexTimeout.Apply();

var builder = WebApplication.CreateBuilder(args);

// Kestrel refuses larger bodies before they are read; RequestBody enforces the same limit where Kestrel is not in front.
var limits = builder.Configuration.GetSection(LimitOptions.Section).Get<LimitOptions>() ?? new LimitOptions();
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = limits.MaxRequestBodyBytes);
builder.Services.AddFhirServer(builder.Configuration);
builder.Services.AddFhirSecurity(builder.Configuration);
builder.Services.AddRecoveryWorkflow(builder.Configuration);
builder.Services.AddRecoveryQuestionnaires();
builder.Services.AddEhrMapping(builder.Configuration);
builder.Services.AddBulkExport(builder.Configuration);
// Last: test-only fault switches (section Faults, off by default) wrap what is registered above.
builder.Services.AddServerFaults(builder.Configuration);

var app = builder.Build();
app.UseFhirServer();
app.UseFhirSecurity();
app.Run();

/// <summary>The entry point, visible to the integration tests' WebApplicationFactory.</summary>
public partial class Program;
