using Shipper.Module.Registry;

namespace Shipper.Module.System.Process;

// SKELETON: replaced by the process dataset work (issue 3).
public sealed class ProcessDataset : IDataset
{
    public ProcessDataset(DatasetContext context)
    {
        context.Config.Consume("process");
        context.Config.Consume("period");
        context.Config.Consume("state.period");
    }

    public string Name => "system/process";

    public Task RunAsync(IEventReporter reporter, CancellationToken cancellationToken) =>
        Task.Delay(Timeout.Infinite, cancellationToken);
}
