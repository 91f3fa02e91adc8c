using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Shipper.Watchdog;

/// <summary>
/// The worker's end of its link to the watcher (see <see cref="WorkerLink"/>): read once at start for the
/// <see cref="WorkerHandover"/>, then written by <see cref="WorkerHeartbeat"/>. Sends never block: a watcher
/// that stops reading must not stall the worker; the heartbeat is then simply missing.
/// </summary>
public sealed class WatcherLink : IDisposable
{
    /// <summary>How long the worker waits for the handover the watcher writes right after starting it.</summary>
    private static readonly TimeSpan HandoverTimeout = TimeSpan.FromSeconds(10);

    private readonly Socket _socket;
    private readonly object _sendLock = new();

    private WatcherLink(Socket socket, WorkerHandover handover)
    {
        _socket = socket;
        Handover = handover;
    }

    public WorkerHandover Handover { get; }

    /// <summary>
    /// The link named in the environment, with the handover read from it; null when there is none (not a watched
    /// worker, or a watcher that hands nothing over). Throws <see cref="IOException"/> naming the problem when
    /// the variable is set but the link is unusable: the worker must not start without the overrides it was given.
    /// </summary>
    public static WatcherLink? FromEnvironment(Func<string, string?> environment)
    {
        var text = environment(WorkerLink.EnvironmentVariable);
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var fd) || fd < 3)
        {
            throw new IOException($"{WorkerLink.EnvironmentVariable}='{text}' is not the number of an inherited socket (3 or more)");
        }

        // Nothing this worker starts may inherit the link.
        if (LibC.Fcntl(fd, LibC.F_SETFD, LibC.FD_CLOEXEC) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"{WorkerLink.EnvironmentVariable}={fd}: no such inherited descriptor ({Marshal.GetPInvokeErrorMessage(errno)})");
        }

        var socket = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
        try
        {
            socket.ReceiveTimeout = (int)HandoverTimeout.TotalMilliseconds;
            var handover = ReadHandover(socket, fd);
            socket.Blocking = false;
            return new WatcherLink(socket, handover);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends one line without waiting; false when it could not go out whole now (the watcher is not reading, or gone).</summary>
    public bool TrySend(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line + "\n");
        lock (_sendLock)
        {
            try
            {
                // A stream socket takes a short line whole or not at all while its buffer has room: a partial
                // send would need the rest later, which a heartbeat does not need to be.
                return _socket.Send(bytes, 0, bytes.Length, SocketFlags.None, out var error) == bytes.Length && error == SocketError.Success;
            }
            catch (ObjectDisposedException)
            {
                return false;
            }
        }
    }

    public void Dispose()
    {
        lock (_sendLock)
        {
            _socket.Dispose();
        }
    }

    /// <summary>Byte by byte up to each newline, so that nothing after the handover is consumed into a buffer.</summary>
    private static WorkerHandover ReadHandover(Socket socket, int fd)
    {
        var line = new List<byte>(256);
        var one = new byte[1];
        string? ReadLine()
        {
            line.Clear();
            while (true)
            {
                int n;
                try
                {
                    n = socket.Receive(one);
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut || e.SocketErrorCode == SocketError.WouldBlock)
                {
                    throw new IOException($"the watcher sent nothing on {WorkerLink.EnvironmentVariable}={fd} for {HandoverTimeout.TotalSeconds:0}s");
                }
                catch (SocketException e)
                {
                    throw new IOException($"cannot read the watcher's handover on {WorkerLink.EnvironmentVariable}={fd}: {e.Message}");
                }

                if (n == 0)
                {
                    return null;
                }

                if (one[0] == (byte)'\n')
                {
                    return Encoding.UTF8.GetString(CollectionsMarshal.AsSpan(line));
                }

                line.Add(one[0]);
            }
        }

        if (!WorkerHandover.TryDecode(ReadLine, out var handover, out var error))
        {
            throw new IOException($"the watcher's handover on {WorkerLink.EnvironmentVariable}={fd} is unusable: {error}");
        }

        return handover;
    }
}
