namespace Shipper.Module.System.Process;

/// <summary>
/// A test hook shared by the real-time event sources: stops a reader thread between two reads (so the kernel's
/// buffer fills and it counts loss, as under a real overload) until resumed. The reader calls
/// <see cref="HoldIfRequested"/> once per turn; costs one volatile read when nobody asked.
/// </summary>
internal sealed class ReaderPause
{
    private readonly ManualResetEventSlim _paused = new();
    private readonly ManualResetEventSlim _resume = new(true);
    private volatile bool _requested;

    /// <summary>Asks the reader to stop and waits until it has; throws when it did not within <paramref name="wait"/>.</summary>
    public void Pause(TimeSpan wait, string reader)
    {
        _resume.Reset();
        _requested = true;
        if (!_paused.Wait(wait))
        {
            throw new TimeoutException($"the {reader} did not pause");
        }
    }

    public void Resume()
    {
        _requested = false;
        _paused.Reset();
        _resume.Set();
    }

    /// <summary>Lets a held reader go for good (the source is being disposed).</summary>
    public void Release() => _resume.Set();

    /// <summary>On the reader thread: holds it while a pause is requested; true when it was held.</summary>
    public bool HoldIfRequested()
    {
        if (!_requested)
        {
            return false;
        }

        _paused.Set();
        _resume.Wait();
        return true;
    }
}
