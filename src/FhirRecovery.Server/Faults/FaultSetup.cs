using FhirRecovery.Server.Interactions;
using FhirRecovery.Server.Questionnaires;
using FhirRecovery.Server.Workflow;
using FhirRecovery.Storage;

namespace FhirRecovery.Server.Faults;

/// <summary>
/// Wires the switched-on faults of <see cref="FaultOptions"/> as decorators of what is already registered, so the server
/// code itself carries no fault logic. Called last in <c>Program</c>: it wraps the final store and hooks.
/// </summary>
public static class FaultSetup
{
    public static IServiceCollection AddServerFaults(this IServiceCollection services, IConfiguration configuration)
    {
        var faults = configuration.GetSection(FaultOptions.Section).Get<FaultOptions>() ?? new FaultOptions();
        if (faults.Enabled().Count == 0)
        {
            return services;
        }

        services.AddSingleton(faults);
        services.AddHostedService<FaultWarning>();
        if (faults.WrongProfileInOutput || faults.LeakyCompartment || faults.BrokenNextLink)
        {
            Decorate<IResourceStore>(services, _ => true, (sp, inner) => new FaultyResourceStore(inner, faults));
        }

        if (faults.AllowForbiddenTaskTransition)
        {
            Decorate<IResourceWriteHook>(services, d => d.ImplementationType == typeof(TaskWorkflowHook), (_, inner) => new ForbiddenTransitionLetThrough(inner));
        }

        if (faults.SkipScoreRecalculation)
        {
            Decorate<IResourceWriteHook>(services, d => d.ImplementationType == typeof(QuestionnaireScoringHook), (_, _) => new SkippedHook());
        }

        return services;
    }

    /// <summary>Replaces the last registration of <typeparamref name="T"/> matching <paramref name="which"/> by a wrapper of it.</summary>
    private static void Decorate<T>(IServiceCollection services, Func<ServiceDescriptor, bool> which, Func<IServiceProvider, T, T> wrap)
        where T : class
    {
        var descriptor = services.LastOrDefault(d => d.ServiceType == typeof(T) && which(d))
                         ?? throw new InvalidOperationException($"Faults: no {typeof(T).Name} registration to wrap");
        var index = services.IndexOf(descriptor);
        services[index] = ServiceDescriptor.Singleton<T>(sp =>
        {
            var inner = descriptor.ImplementationInstance as T
                        ?? (T?)descriptor.ImplementationFactory?.Invoke(sp)
                        ?? (T)ActivatorUtilities.CreateInstance(sp, descriptor.ImplementationType!);
            return wrap(sp, inner);
        });
    }

    /// <summary>Says loudly, at start, that this server breaks the guide on purpose.</summary>
    private sealed class FaultWarning(FaultOptions faults, ILogger<FaultWarning> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            logger.LogWarning("TEST-ONLY FAULTS ARE ON ({Faults}): this server breaks the implementation guide on purpose. Never use it for real data.",
                string.Join(", ", faults.Enabled()));
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
