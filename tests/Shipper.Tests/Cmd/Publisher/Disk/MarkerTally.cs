using System.Globalization;
using System.Text.Json;
using Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;

namespace Shipper.Tests.Cmd.Publisher.Disk;

/// <summary>
/// Counts, in documents (what the loopback Elasticsearch indexed, or what sits in the disk queue's segments),
/// the documents of the processes that carried one of a run's markers in <c>process.args</c> (their children
/// only name it in <c>process.parent.args</c> and do not count): which markers arrived and how many extra
/// copies (duplicates) came with them. A copy is the same document again (the queue sends the very bytes it
/// stored): the process dataset itself sometimes reports one process in two different documents (its start
/// and its end, when it could not fold them; more often on a loaded machine), which is no duplicate.
/// </summary>
public sealed class MarkerTally
{
    private readonly string _prefix;
    private readonly int[] _copies;
    private readonly HashSet<(int Marker, int Length, int Hash)> _documents = new();
    private readonly Dictionary<string, int> _read = new(StringComparer.Ordinal);

    /// <param name="markers">Markers 1 to this many are expected.</param>
    public MarkerTally(string prefix, int markers)
    {
        _prefix = prefix;
        _copies = new int[markers + 1];
    }

    public int Expected => _copies.Length - 1;

    /// <summary>Documents of every kind read so far.</summary>
    public int Documents { get; private set; }

    /// <summary>Markers seen at least once.</summary>
    public int Distinct { get; private set; }

    /// <summary>Marker documents, copies included.</summary>
    public int Copies { get; private set; }

    /// <summary>Different documents about marked processes (more than <see cref="Distinct"/> when the dataset split one).</summary>
    public int DistinctDocuments => _documents.Count;

    /// <summary>Documents that arrived again.</summary>
    public int Duplicates => Copies - DistinctDocuments;

    /// <summary>Marked processes the dataset reported in more than one document.</summary>
    public int Splits => DistinctDocuments - Distinct;

    /// <summary>Reads what <paramref name="es"/> indexed since the last call (it only ever appends).</summary>
    public void Refresh(LoopbackElasticsearch es)
    {
        foreach (var index in es.IndexNames)
        {
            var documents = es.Documents(index);
            for (var i = _read.GetValueOrDefault(index); i < documents.Count; i++)
            {
                Add(documents[i]);
            }

            _read[index] = documents.Count;
        }
    }

    /// <summary>Refreshes until every marker arrived; false when <paramref name="timeout"/> passed first.</summary>
    public bool WaitForAll(LoopbackElasticsearch es, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            Refresh(es);
            if (Distinct == Expected)
            {
                return true;
            }

            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            Thread.Sleep(100);
        }
    }

    public List<int> Missing()
    {
        var missing = new List<int>();
        for (var n = 1; n < _copies.Length; n++)
        {
            if (_copies[n] == 0)
            {
                missing.Add(n);
            }
        }

        return missing;
    }

    /// <summary>The first few missing markers, for a failure message.</summary>
    public string MissingSample() => string.Join(", ", Missing().Take(20));

    public void Add(string json)
    {
        Documents++;

        // Most documents are other processes': parsing only the ones that mention the run keeps a long run cheap.
        if (!json.Contains(_prefix, StringComparison.Ordinal))
        {
            return;
        }

        using var document = JsonDocument.Parse(json);
        if (!document.RootElement.TryGetProperty("process", out var process)
            || !process.TryGetProperty("args", out var args)
            || args.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        foreach (var arg in args.EnumerateArray())
        {
            var text = arg.GetString();
            if (text is not null && text.StartsWith(_prefix, StringComparison.Ordinal)
                && int.TryParse(text.AsSpan(_prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
                && n >= 1 && n < _copies.Length)
            {
                if (_copies[n]++ == 0)
                {
                    Distinct++;
                }

                // A hash, not the text: a ten-minute run tallies 60,000 of them.
                _documents.Add((n, json.Length, StringComparer.Ordinal.GetHashCode(json)));
                Copies++;
            }
        }
    }
}
