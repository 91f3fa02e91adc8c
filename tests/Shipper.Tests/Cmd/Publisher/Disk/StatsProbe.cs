using System.Text.Json;

namespace Shipper.Tests.Cmd.Publisher.Disk;

/// <summary>
/// Reads the worker's metrics from its <c>/stats</c> endpoint (<c>http.enabled</c>). A worker that is not
/// answering (starting, killed, between two workers) reads as null rather than failing the test.
/// </summary>
public sealed class StatsProbe : IDisposable
{
    private readonly HttpClient _http;

    public StatsProbe(int port)
    {
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(2) };
    }

    /// <summary>Every metric, nested as <c>/stats</c> serves them; null when the worker does not answer.</summary>
    public JsonElement? Snapshot()
    {
        try
        {
            using var document = JsonDocument.Parse(_http.GetStringAsync("/stats").GetAwaiter().GetResult());
            return document.RootElement.Clone();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            return null;
        }
    }

    /// <summary>One metric by its dotted name (<c>queue.added.events</c>); 0 when absent, null when nobody answers.</summary>
    public long? Read(string name) => Snapshot() is { } stats ? Metric(stats, name) : null;

    /// <summary>A metric of a snapshot (or of the <c>Total metrics</c> log line), 0 when absent.</summary>
    public static long Metric(JsonElement stats, string name)
    {
        var element = stats;
        foreach (var part in name.Split('.'))
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(part, out element))
            {
                return 0;
            }
        }

        return element.ValueKind == JsonValueKind.Number ? element.GetInt64() : 0;
    }

    /// <summary>Waits until the worker answers; returns its metrics.</summary>
    public JsonElement WaitForAnswer(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (Snapshot() is { } stats)
            {
                return stats;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"/stats did not answer within {timeout.TotalSeconds}s");
            }

            Thread.Sleep(50);
        }
    }

    public void Dispose() => _http.Dispose();
}
