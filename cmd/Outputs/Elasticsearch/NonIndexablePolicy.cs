using Shipper.Module.Config;

namespace Shipper.Outputs.Elasticsearch;

/// <summary>
/// What happens to a document Elasticsearch rejects for good (a 4xx other than 409 and 429, such as a mapping
/// conflict): <c>non_indexable_policy.drop</c> (the default) or
/// <c>non_indexable_policy.dead_letter_index.index: name</c>, which rewrites the document into that index as
/// <c>message</c> (the original JSON), <c>error.type</c> (the status) and <c>error.message</c> (the reason).
/// </summary>
public sealed class NonIndexablePolicy
{
    public static readonly NonIndexablePolicy Drop = new(null);

    private NonIndexablePolicy(string? deadLetterIndex) => DeadLetterIndex = deadLetterIndex;

    /// <summary>Null for the drop policy.</summary>
    public string? DeadLetterIndex { get; }

    public bool IsDeadLetter => DeadLetterIndex is not null;

    public static NonIndexablePolicy Parse(ConfigSection policy)
    {
        var hasDrop = policy.Find("drop") is not null;
        var hasDeadLetter = policy.Find("dead_letter_index") is not null;
        foreach (var (key, node) in policy.Map.Entries)
        {
            if (key is not ("drop" or "dead_letter_index"))
            {
                throw node.Error($"unknown policy '{key}': use drop or dead_letter_index");
            }
        }

        if (hasDrop && hasDeadLetter)
        {
            throw policy.Error("dead_letter_index", "set only one policy: drop or dead_letter_index");
        }

        if (hasDrop)
        {
            policy.Consume("drop");
            return Drop;
        }

        if (!hasDeadLetter)
        {
            return Drop;
        }

        var deadLetter = policy.Section("dead_letter_index");
        var index = deadLetter.OptionalString("index");
        if (string.IsNullOrWhiteSpace(index))
        {
            throw policy.Error("dead_letter_index", "the dead_letter_index policy needs an index: non_indexable_policy.dead_letter_index.index");
        }

        var problem = IndexNames.Check(index);
        if (problem is not null)
        {
            throw deadLetter.Error("index", problem);
        }

        return new NonIndexablePolicy(index);
    }
}
