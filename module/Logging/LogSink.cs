namespace Shipper.Module.Logging;

/// <summary>Where log records go. The host decides (stderr, file, JSON); modules only see <see cref="Logger"/>.</summary>
public abstract class LogSink
{
    /// <summary>Whether a record at this level for this selector would be written; lets callers skip formatting.</summary>
    public abstract bool IsEnabled(LogLevel level, string selector);

    public abstract void Write(LogLevel level, string selector, string message);

    /// <summary>A sink that drops everything, for components used outside a running shipper.</summary>
    public static LogSink Null { get; } = new NullSink();

    private sealed class NullSink : LogSink
    {
        public override bool IsEnabled(LogLevel level, string selector) => false;

        public override void Write(LogLevel level, string selector, string message)
        {
        }
    }
}
