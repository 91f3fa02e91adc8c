using System.Globalization;
using System.Text.Json;
using Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;

namespace Shipper.Tests.Cmd.Publisher.Disk;

/// <summary>
/// Counts, in what the loopback Elasticsearch indexed, the documents of the processes that carried one of a
/// run's markers in <c>process.args</c> (its children only name it in <c>process.parent.args</c> and do not
/// count): which markers arrived and how many extra copies (duplicates) came with them. Reads only what was
/// indexed since the last <see cref="Refresh"/>.
/// </summary>
public sealed class MarkerTally
{
    private readonly LoopbackElasticsearch _es;
    private readonly string _prefix;
    private readonly int[] _copies;
    private readonly Dictionary<string, int> _read = new(StringComparer.Ordinal);
    private readonly List<DateTimeOffset> _timestamps = new();

    /// <param name="markers">Markers 1 to this many are expected.</param>
    public MarkerTally(LoopbackElasticsearch es, string prefix, int markers)
    {
        _es = es;
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

    public int Duplicates => Copies - Distinct;

    /// <summary>The <c>@timestamp</c> of every document read, in the order indexed.</summary>
    public IReadOnlyList<DateTimeOffset> Timestamps => _timestamps;

    public void Refresh()
    {
        foreach (var index in _es.IndexNames)
        {
            var documents = _es.Documents(index);
            for (var i = _read.GetValueOrDefault(index); i < documents.Count; i++)
            {
                Read(documents[i]);
            }

            _read[index] = documents.Count;
        }
    }

    /// <summary>Refreshes until every marker arrived; false when <paramref name="timeout"/> passed first.</summary>
    public bool WaitForAll(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            Refresh();
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

    /// <summary>Markers and how many copies of each arrived, for the ones that came more than once.</summary>
    public IEnumerable<(int Marker, int Copies)> Duplicated()
    {
        for (var n = 1; n < _copies.Length; n++)
        {
            if (_copies[n] > 1)
            {
                yield return (n, _copies[n]);
            }
        }
    }

    private void Read(string json)
    {
        Documents++;
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        _timestamps.Add(DateTimeOffset.Parse(root.GetProperty("@timestamp").GetString()!, CultureInfo.InvariantCulture));
        if (!json.Contains(_prefix, StringComparison.Ordinal)
            || !root.TryGetProperty("process", out var process)
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

                Copies++;
            }
        }
    }
}
