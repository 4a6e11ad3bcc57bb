using FhirRecovery.Conformance;
using FhirRecovery.Server.Configuration;
using FhirRecovery.Server.Endpoints;
using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.OpenApi;

namespace FhirRecovery.Server.Startup;

/// <summary>The server's services and HTTP pipeline, so Program stays a list of steps.</summary>
public static class ServerSetup
{
    public static IServiceCollection AddFhirServer(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<ValidationOptions>(configuration.GetSection(ValidationOptions.Section));
        services.Configure<SampleOptions>(configuration.GetSection(SampleOptions.Section));
        services.Configure<LimitOptions>(configuration.GetSection(LimitOptions.Section));
        services.Configure<FhirServerOptions>(configuration.GetSection(FhirServerOptions.Section));

        // The conformance engine indexes the core definitions and the IG once per process; the store and the terminology
        // operations share it (and its terminology service, with its caches).
        services.AddSingleton(_ => ConformanceEngine.Create());
        services.AddSingleton(sp => sp.GetRequiredService<ConformanceEngine>().Definitions);
        services.AddSingleton(sp => sp.GetRequiredService<ConformanceEngine>().Terminology);
        services.AddSingleton(TimeProvider.System);
        services.AddFhirRecoveryStorage(configuration);

        services.AddSingleton<WriteValidation>();
        services.AddSingleton<ResourceInteractions>();
        services.AddSingleton<SearchService>();
        services.AddSingleton<HistoryService>();
        services.AddSingleton<BundleProcessor>();
        services.AddSingleton<CapabilityStatementBuilder>();
        services.AddSingleton<ConformanceResourceLoader>();
        services.AddSingleton<SampleDataLoader>();
        services.AddSingleton<StartupState>();
        services.AddHostedService<StoreInitializer>();

        services.AddHealthChecks().AddCheck<StoreReadinessCheck>("store", tags: ["ready"]);
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(swagger => swagger.SwaggerDoc("v1", new OpenApiInfo
        {
            Title = "FhirRecovery FHIR R4 server",
            Version = "v1",
            Description = "FHIR R4 RESTful API under /fhir. Bodies are FHIR resources in application/fhir+json or application/fhir+xml; " +
                          "the CapabilityStatement at /fhir/metadata is the full statement of what is supported.",
        }));
        return services;
    }

    public static WebApplication UseFhirServer(this WebApplication app)
    {
        app.UseMiddleware<RequestIdMiddleware>();
        app.UseMiddleware<HeadRequestMiddleware>();
        app.Use((http, next) =>
        {
            // JSON strings are not HTML-escaped (FhirJsonEncoding): no browser may sniff an answer into a page.
            http.Response.Headers.XContentTypeOptions = "nosniff";
            return next(http);
        });
        app.UseStatusCodePages(FhirErrorMiddleware.WriteStatusCodePageAsync);
        app.UseMiddleware<FhirErrorMiddleware>();
        // Swagger's middlewares match every request's path against their own patterns: only /swagger goes through them.
        app.UseWhen(http => http.Request.Path.StartsWithSegments("/swagger"), swagger =>
        {
            swagger.UseSwagger();
            swagger.UseSwaggerUI(ui =>
            {
                ui.RoutePrefix = "swagger";
                ui.SwaggerEndpoint("/swagger/v1/swagger.json", "FhirRecovery FHIR R4");
            });
        });

        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteHealthAsync });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready"), ResponseWriter = WriteHealthAsync });

        var fhir = app.MapGroup("/fhir");
        HeadRequests.AllowHeadWhereGet(fhir);
        fhir.AddEndpointFilter(async (context, next) =>
        {
            // Content negotiation first: a client that accepts nothing we write gets its 406 before any work is done
            // (HTML-capable endpoints answer an HTML request themselves, NDJSON endpoints every request).
            if (!HtmlRepresentation.Requested(context.HttpContext) && !NdjsonRepresentation.On(context.HttpContext))
            {
                FhirRequestContext.Get(context.HttpContext);
            }

            return await next(context);
        });
        SystemEndpoints.Map(fhir);
        HistoryEndpoints.Map(fhir);
        ValidateEndpoints.Map(fhir);
        TerminologyEndpoints.Map(fhir);
        TypeEndpoints.Map(fhir);
        InstanceEndpoints.Map(fhir);
        foreach (var module in app.Services.GetServices<IFhirEndpointModule>())
        {
            module.Map(fhir);
        }

        return app;
    }

    /// <summary>Health answers as OperationOutcomes, like every other answer of the server.</summary>
    private static System.Threading.Tasks.Task WriteHealthAsync(HttpContext http, HealthReport report)
    {
        var outcome = new OperationOutcome { Issue = [Issue(report.Status, report.Status.ToString())] };
        outcome.Issue.AddRange(report.Entries.Select(e => Issue(e.Value.Status, $"{e.Key}: {e.Value.Description ?? e.Value.Status.ToString()}")));
        var bytes = FhirSerialization.Serialize(outcome, FhirFormat.Json);
        http.Response.ContentType = FhirMediaTypes.ContentType(FhirFormat.Json);
        return http.Response.Body.WriteAsync(bytes).AsTask();
    }

    private static OperationOutcome.IssueComponent Issue(HealthStatus status, string message) => new()
    {
        Severity = status == HealthStatus.Healthy ? OperationOutcome.IssueSeverity.Information : OperationOutcome.IssueSeverity.Error,
        Code = status == HealthStatus.Healthy ? OperationOutcome.IssueType.Informational : OperationOutcome.IssueType.Transient,
        Diagnostics = message,
    };
}
