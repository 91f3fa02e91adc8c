using System.Diagnostics;

namespace Shipper.Tests.Cmd.Publisher.Disk;

/// <summary>
/// Short processes that each carry a unique marker (<c>dqmark-&lt;run&gt;-&lt;n&gt;</c>) in their arguments, so a
/// test can tell which of them reached Elasticsearch and how often. Each is <c>/bin/sh -c 'sleep 0.2; :'
/// &lt;marker&gt;</c>, two processes (the shell and its sleep; only the shell has the marker in process.args):
/// a bare <c>/bin/true &lt;marker&gt;</c> often exits before its arguments can be read (a few per hundred come
/// without args, see the README's "Short-lived processes"), which would look like a loss of the queue. The
/// trailing <c>:</c> keeps dash from exec-ing sleep in its place (that would replace the marked arguments).
/// They are started at a steady rate, never all at once: 1,000 shells started together left the shipper's
/// /proc reads behind by more than 0.1 s, and 8 of them came without any name or args (measured); at 250/s
/// with 0.2 s each, every one of 1,000 had its args.
/// </summary>
public sealed class MarkedProcesses
{
    public const int ProcessesPerMarker = 2;

    /// <summary>About the rate <see cref="Run"/> starts them at.</summary>
    public const int DefaultRate = 250;

    private readonly List<Process> _running = new();

    public MarkedProcesses()
    {
        Prefix = $"dqmark-{Guid.NewGuid().ToString("N")[..8]}-";
    }

    /// <summary>What every marker of this run starts with.</summary>
    public string Prefix { get; }

    public string Marker(int n) => Prefix + Invariant(n);

    private static string Invariant(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Runs markers <paramref name="first"/> to <paramref name="last"/> at about <see cref="DefaultRate"/> (ten,
    /// then 40 ms), and waits for all. One shell starts them: .NET's Process.Start managed only about 140 a second.
    /// The starting shell's own arguments hold the prefix but no marker number, so it counts as no marker.
    /// </summary>
    public void Run(int first, int last)
    {
        const string script = "i=$1; while [ $i -le $2 ]; do /bin/sh -c 'sleep 0.2; :' \"$3$i\" & "
            + "if [ $((i % 10)) -eq 0 ]; then sleep 0.04; fi; i=$((i + 1)); done; wait";
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        foreach (var argument in new[] { "-c", script, "dqmark-starter", Invariant(first), Invariant(last), Prefix })
        {
            info.ArgumentList.Add(argument);
        }

        using var starter = Process.Start(info)!;
        starter.WaitForExit();
    }

    /// <summary>
    /// Runs markers from <paramref name="first"/> on at <paramref name="perSecond"/> for <paramref name="duration"/>
    /// (on a fixed schedule, so a slow start does not lower the rate), waits for them, and returns the last marker.
    /// </summary>
    /// <param name="tick">Called about once a second while they run (the caller samples metrics there).</param>
    public int RunPaced(int first, int perSecond, TimeSpan duration, Action<TimeSpan>? tick = null)
    {
        var count = (int)Math.Round(duration.TotalSeconds * perSecond);
        var clock = Stopwatch.StartNew();
        var nextTick = TimeSpan.FromSeconds(1);
        for (var i = 0; i < count; i++)
        {
            var due = TimeSpan.FromSeconds((double)i / perSecond) - clock.Elapsed;
            if (due > TimeSpan.Zero)
            {
                Thread.Sleep(due);
            }

            Start(first + i);
            if (_running.Count > perSecond)
            {
                Reap();
            }

            if (tick is not null && clock.Elapsed >= nextTick)
            {
                tick(clock.Elapsed);
                nextTick += TimeSpan.FromSeconds(1);
            }
        }

        WaitForAll();
        return first + count - 1;
    }

    private void Start(int n)
    {
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("sleep 0.2; :");
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
