namespace FhirRecovery.Server.Faults;

/// <summary>
/// Test-only fault switches (configuration section <c>Faults</c>, all off by default). Each one breaks one rule of the
/// guide on purpose, so the interoperability test kit can show that the test checking that rule fails. Never for
/// production: the server logs a warning at start when any is on.
/// </summary>
public sealed class FaultOptions
{
    public const string Section = "Faults";

    /// <summary>Reads of a Goal answer it claiming the recovery-care-plan profile (a wrong <c>meta.profile</c>).</summary>
    public bool WrongProfileInOutput { get; set; }

    /// <summary>A read by id skips the patient-compartment check: a patient's token can read another patient's data.</summary>
    public bool LeakyCompartment { get; set; }

    /// <summary>Task transitions the lifecycle forbids (409) are let through.</summary>
    public bool AllowForbiddenTaskTransition { get; set; }

    /// <summary>Searches stop after the second page: its <c>next</c> link is left out, so matches are lost.</summary>
    public bool BrokenNextLink { get; set; }

    /// <summary>A QuestionnaireResponse's score is stored as the client sent it, not as the questionnaire computes it.</summary>
    public bool SkipScoreRecalculation { get; set; }

    /// <summary>The names of the switches that are on.</summary>
    public IReadOnlyList<string> Enabled() =>
    [
        .. new (bool On, string Name)[]
        {
            (WrongProfileInOutput, nameof(WrongProfileInOutput)),
            (LeakyCompartment, nameof(LeakyCompartment)),
            (AllowForbiddenTaskTransition, nameof(AllowForbiddenTaskTransition)),
            (BrokenNextLink, nameof(BrokenNextLink)),
            (SkipScoreRecalculation, nameof(SkipScoreRecalculation)),
        }.Where(f => f.On).Select(f => f.Name),
    ];
}
