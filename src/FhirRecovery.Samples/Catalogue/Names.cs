namespace FhirRecovery.Samples.Catalogue;

/// <summary>
/// Small lists of common given and family names. Patients are random combinations, so they describe no real person;
/// every narrative also says "fictional".
/// </summary>
internal static class Names
{
    public static IReadOnlyList<string> Female { get; } =
    [
        "Anna", "Amira", "Beatrice", "Camilla", "Chloe", "Dagny", "Elena", "Emma", "Fatima", "Freya", "Grace", "Hanna",
        "Ida", "Iris", "Jasmine", "Julia", "Karin", "Laila", "Lena", "Maja", "Maria", "Mira", "Nadia", "Nora", "Olivia",
        "Priya", "Rosa", "Ruth", "Sara", "Selma", "Sofia", "Tuula", "Vera", "Zainab",
    ];

    public static IReadOnlyList<string> Male { get; } =
    [
        "Aaron", "Ahmed", "Anders", "Ben", "Callum", "Daniel", "David", "Eero", "Emil", "Farid", "Finn", "Gabriel",
        "Hamza", "Henrik", "Isak", "Jakob", "Jonas", "Karim", "Leo", "Lucas", "Mikael", "Noah", "Omar", "Oskar", "Pieter",
        "Rafael", "Sami", "Simon", "Stefan", "Thomas", "Viktor", "William", "Yusuf",
    ];

    /// <summary>For people whose gender is recorded as other: names used for any gender.</summary>
    public static IReadOnlyList<string> Neutral { get; } = ["Alex", "Charlie", "Eli", "Kim", "Robin", "Sam", "Noa", "Jo"];

    public static IReadOnlyList<string> Family { get; } =
    [
        "Andersen", "Bakker", "Berg", "Brennan", "Castillo", "Dahlberg", "de Vries", "Eriksen", "Evans", "Fischer",
        "Haddad", "Halvorsen", "Hughes", "Jansen", "Johansson", "Karlsen", "Kowalski", "Lehtinen", "Lindqvist", "Mahmoud",
        "Mäkinen", "Moreno", "Murphy", "Nieminen", "Novak", "O'Connor", "Okafor", "Olsen", "Patel", "Pedersen",
        "Rahman", "Rossi", "Sandvik", "Schmidt", "Strand", "Svensson", "Tanaka", "Thorsen", "van Dijk", "Virtanen",
        "Walsh", "Williams", "Young",
    ];

    /// <summary>Languages patients speak (with weights): mostly English, some the languages of the reviewed tools' countries.</summary>
    public static IReadOnlyList<(string Item, int Weight)> Languages { get; } =
    [
        ("en", 14), ("no", 3), ("nl", 2), ("fi", 2), ("sv", 1), ("ar", 1), ("pl", 1), ("es", 1),
    ];
}
