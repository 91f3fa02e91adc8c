using System.Diagnostics;

namespace Shipper.Tests.Cmd.Publisher.Disk;

/// <summary>
/// Short processes that each carry a unique marker (<c>dqmark-&lt;run&gt;-&lt;n&gt;</c>) in their arguments, so a
/// test can tell which of them reached Elasticsearch and how often. Each is <c>/bin/sh -c 'sleep 0.1; :'
/// &lt;marker&gt;</c>, two processes (the shell and its sleep; only the shell has the marker in process.args):
/// a bare <c>/bin/true &lt;marker&gt;</c> often exits before its arguments can be read (a few per hundred come
/// without args, see the README's "Short-lived processes"), which would look like a loss of the queue. The
/// 0.1 s the shell waits makes its arguments always readable; the trailing <c>:</c> keeps dash from exec-ing
/// sleep in its place (that would replace the marked arguments).
/// </summary>
public sealed class MarkedProcesses
{
    public const int ProcessesPerMarker = 2;

    private readonly List<Process> _running = new();

    public MarkedProcesses()
    {
        Prefix = $"dqmark-{Guid.NewGuid().ToString("N")[..8]}-";
    }

    /// <summary>What every marker of this run starts with.</summary>
    public string Prefix { get; }

    public string Marker(int n) => Prefix + n.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Runs markers <paramref name="first"/> to <paramref name="last"/> as fast as they start, and waits for all.</summary>
    public void Run(int first, int last)
    {
        for (var n = first; n <= last; n++)
        {
            Start(n);
        }

        WaitForAll();
    }

    /// <summary>
    /// Runs markers from <paramref name="first"/> on at <paramref name="perSecond"/> for <paramref name="duration"/>
    /// (on a fixed schedule, so a slow start does not lower the rate), waits for them, and returns the last marker.
    /// </summary>
    public int RunPaced(int first, int perSecond, TimeSpan duration)
    {
        var count = (int)(duration.TotalSeconds * perSecond);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            var due = TimeSpan.FromSeconds((double)i / perSecond) - clock.Elapsed;
            if (due > TimeSpan.Zero)
            {
                Thread.Sleep(due);
            }

            Start(first + i);
            if (_running.Count > 4 * perSecond)
            {
                Reap();
            }
        }

        WaitForAll();
        return first + count - 1;
    }

    private void Start(int n)
    {
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("sleep 0.1; :");
        info.ArgumentList.Add(Marker(n));
        _running.Add(Process.Start(info)!);
    }

    /// <summary>Lets go of the processes that have ended, so a long run holds only the recent ones.</summary>
    private void Reap()
    {
        _running.RemoveAll(process =>
        {
            if (!process.HasExited)
            {
                return false;
            }

            process.Dispose();
            return true;
        });
    }

    private void WaitForAll()
    {
        foreach (var process in _running)
        {
            process.WaitForExit();
            process.Dispose();
        }

        _running.Clear();
    }
}
