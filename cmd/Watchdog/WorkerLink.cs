using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Shipper.Watchdog;

/// <summary>
/// The watcher's end of a Unix socket pair shared with one worker. The worker inherits the other end (its
/// number in <see cref="EnvironmentVariable"/>); the watcher writes the <see cref="WorkerHandover"/> into it
/// and a thread of ours reads the worker's heartbeats, each with the proc connector positions the worker has
/// reached. Heartbeat times come from the injected clock.
/// </summary>
internal sealed class WorkerLink : IDisposable
{
    /// <summary>Set in the worker's environment to the number of its end of the link.</summary>
    public const string EnvironmentVariable = "SHIPPER_WATCHDOG_LINK";

    /// <summary>The line a worker sends to prove it makes progress: <c>heartbeat &lt;positions&gt;</c>.</summary>
    public const string HeartbeatPrefix = "heartbeat ";

    private readonly Socket _socket;
    private readonly TimeProvider _time;
    private readonly Thread _reader;
    private int _workerEnd;
    private long _lastHeartbeat;
    private string _positions = "";

    private WorkerLink(Socket socket, int workerEnd, TimeProvider time)
    {
        _socket = socket;
        _workerEnd = workerEnd;
        _time = time;
        _reader = new Thread(ReadHeartbeats) { IsBackground = true, Name = "watcher-worker-link" };
    }

    /// <summary>The fd number the worker inherits, for <see cref="EnvironmentVariable"/>.</summary>
    public string WorkerEnd => _workerEnd.ToString(CultureInfo.InvariantCulture);

    /// <summary>When the last heartbeat came (a timestamp of the injected clock), or null before the first.</summary>
    public long? LastHeartbeat => Volatile.Read(ref _lastHeartbeat) is > 0 and var at ? at : null;

    /// <summary>The proc connector positions of the last heartbeat that had any; empty before.</summary>
    public string Positions => Volatile.Read(ref _positions);

    /// <summary>
    /// Opens the pair. Our end is close-on-exec; the worker's end is not, so the next process this watcher
    /// starts (it starts one at a time, from one thread) inherits it. Call <see cref="WorkerStarted"/> once it is.
    /// </summary>
    public static unsafe WorkerLink Open(TimeProvider time)
    {
        var fds = stackalloc int[2];
        if (LibC.SocketPair(LibC.AF_UNIX, LibC.SOCK_STREAM, 0, fds) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"cannot create the watcher's link to the worker (socketpair: {Marshal.GetPInvokeErrorMessage(errno)})");
        }

        if (LibC.Fcntl(fds[0], LibC.F_SETFD, LibC.FD_CLOEXEC) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            LibC.Close(fds[0]);
            LibC.Close(fds[1]);
            throw new IOException($"cannot create the watcher's link to the worker (fcntl FD_CLOEXEC: {Marshal.GetPInvokeErrorMessage(errno)})");
        }

        return new WorkerLink(new Socket(new SafeSocketHandle(fds[0], ownsHandle: true)), fds[1], time);
    }

    /// <summary>
    /// The worker runs with its end: close our copy (so that the worker's death ends our reads), hand it what it
    /// must not get through argv, and start reading its heartbeats. False with the reason when the worker could
    /// not be reached (it died at once); its exit is then reported as usual.
    /// </summary>
    public bool WorkerStarted(WorkerHandover handover, out string? error)
    {
        CloseWorkerEnd();
        error = null;
        try
        {
            var bytes = Encoding.UTF8.GetBytes(handover.Encode());
            var sent = 0;
            while (sent < bytes.Length)
            {
                sent += _socket.Send(bytes, sent, bytes.Length - sent, SocketFlags.None);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            error = e.Message;
            return false;
        }
        finally
        {
            _reader.Start();
        }

        return true;
    }

    public void Dispose()
    {
        CloseWorkerEnd();
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // The worker's end is gone already.
        }

        _socket.Dispose();
        if (_reader.IsAlive)
        {
            _reader.Join(TimeSpan.FromSeconds(1));
        }
    }

    private void CloseWorkerEnd()
    {
        var fd = Interlocked.Exchange(ref _workerEnd, -1);
        if (fd >= 0)
        {
            LibC.Close(fd);
        }
    }

    private void ReadHeartbeats()
    {
        try
        {
            using var reader = new StreamReader(new NetworkStream(_socket, ownsSocket: false), Encoding.UTF8);
            while (reader.ReadLine() is { } line)
            {
                if (!line.StartsWith(HeartbeatPrefix, StringComparison.Ordinal))
                {
                    continue; // nothing else is sent this way today; a newer worker's extra lines are not ours to judge
                }

                var positions = line[HeartbeatPrefix.Length..];
                if (positions.Length > 0 && !positions.AsSpan().ContainsAnyExcept("0123456789:,"))
                {
                    Volatile.Write(ref _positions, positions);
                }

                Volatile.Write(ref _lastHeartbeat, Math.Max(1, _time.GetTimestamp()));
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // The link closed under us: the worker is gone or we are disposing.
        }
    }
}
