using Shipper.Module.System.Process.Documents;

namespace Shipper.Tests.Module.System.Process.Documents;

public class EntityIdTests
{
    [Fact]
    public void RepeatedAndCollidingInputsGiveTheSameIdsAsAFreshComputation()
    {
        // Far more distinct (pid, start) pairs than the cache has slots, each asked for several times in a
        // shuffled order: a cached answer must never be another process's id.
        const string host = "0b6d4a7c1e3f4a5b9c8d7e6f5a4b3c2d";
        var cached = new EntityId(host);
        var inputs = new List<(int Pid, long Start)>();
        for (var i = 0; i < 2000; i++)
        {
            inputs.Add((1000 + (i % 700), 1_700_000_000_000_000_000L + (i * 7_919L)));
        }

        var order = inputs.Concat(inputs).Concat(inputs).OrderBy(_ => Random.Shared.Next()).ToList();
        foreach (var (pid, start) in order)
        {
            Assert.Equal(new EntityId(host).Compute(pid, start), cached.Compute(pid, start));
        }
    }
}
