using Shipper.Module.Registry;
using Shipper.Outputs;

namespace Shipper.Tests.Cmd.Outputs.Elasticsearch;

/// <summary>Plays the publisher: hands batches to the output and requeues what comes back for retry until nothing is left.</summary>
public static class Publishing
{
    public sealed record Totals(int Acked, int Dropped, int Calls);

    public static async Task<Totals> UntilSettledAsync(IOutput output, IReadOnlyList<Event> events, int batchSize = 1600, TimeSpan? limit = null)
    {
        using var timeout = new CancellationTokenSource(limit ?? TimeSpan.FromSeconds(60));
        var pending = new Queue<Event>(events);
        int acked = 0, dropped = 0, calls = 0;
        while (pending.Count > 0)
        {
            if (timeout.IsCancellationRequested)
            {
                throw new TimeoutException($"{pending.Count} events still pending after {calls} calls");
            }

            var batch = new List<Event>(Math.Min(batchSize, pending.Count));
            while (batch.Count < batchSize && pending.Count > 0)
            {
                batch.Add(pending.Dequeue());
            }

            var result = await output.PublishAsync(batch, timeout.Token);
            calls++;
            Assert.Equal(batch.Count, result.Acked + result.Dropped + result.Retry.Count);
            acked += result.Acked;
            dropped += result.Dropped;
            foreach (var evt in result.Retry)
            {
                pending.Enqueue(evt);
            }
        }

        return new Totals(acked, dropped, calls);
    }
}
