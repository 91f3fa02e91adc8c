using System.Text.Json;

namespace Shipper.Tests.Cmd.Worker;

/// <summary>The worker's last log line at a stop, <c>Total metrics: {…}</c>, read as the JSON it carries.</summary>
internal static class TotalMetricsLine
{
    public static JsonElement Totals(string line) =>
        JsonDocument.Parse(line[(line.IndexOf("Total metrics:", StringComparison.Ordinal) + "Total metrics:".Length)..]).RootElement.Clone();

    /// <summary>The number at <paramref name="path"/>; 0 when the metric is absent (never counted).</summary>
    public static long Number(JsonElement totals, params string[] path)
    {
        var element = totals;
        foreach (var part in path)
        {
            if (!element.TryGetProperty(part, out element))
            {
                return 0;
            }
        }

        return element.GetInt64();
    }
}
