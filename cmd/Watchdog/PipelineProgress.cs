using Shipper.Publisher;

namespace Shipper.Watchdog;

/// <summary>The publisher pipeline seen through <see cref="IPublisherProgress"/>.</summary>
public sealed class PipelineProgress : IPublisherProgress
{
    private readonly Pipeline _pipeline;

    public PipelineProgress(Pipeline pipeline) => _pipeline = pipeline;

    public long ActiveEvents => _pipeline.ActiveEvents;

    public DateTimeOffset LastAck => _pipeline.LastAck;

    public string? LastOutputError => _pipeline.LastOutputError;
}
