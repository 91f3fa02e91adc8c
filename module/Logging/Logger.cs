namespace Shipper.Module.Logging;

/// <summary>
/// A logger for one selector (beats' name for a component, as used by <c>-d selector</c>). Cheap to copy;
/// the hot paths count instead of logging.
/// </summary>
public sealed class Logger
{
    public Logger(LogSink sink, string selector)
    {
        Sink = sink;
        Selector = selector;
    }

    public LogSink Sink { get; }

    public string Selector { get; }

    public static Logger Null { get; } = new(LogSink.Null, "");

    public Logger Named(string selector) => new(Sink, selector);

    public bool IsDebugEnabled => Sink.IsEnabled(LogLevel.Debug, Selector);

    public void Debug(string message)
    {
        if (Sink.IsEnabled(LogLevel.Debug, Selector))
        {
            Sink.Write(LogLevel.Debug, Selector, message);
        }
    }

    public void Info(string message) => Write(LogLevel.Info, message);

    public void Warn(string message) => Write(LogLevel.Warning, message);

    public void Error(string message) => Write(LogLevel.Error, message);

    public void Write(LogLevel level, string message)
    {
        if (Sink.IsEnabled(level, Selector))
        {
            Sink.Write(level, Selector, message);
        }
    }
}
