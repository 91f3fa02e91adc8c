using System.Net.Sockets;

namespace Shipper.Monitoring;

/// <summary>
/// One client of the <see cref="StatsServer"/>: its socket, the deadline for its request, and whether it
/// is being answered (then it keeps its slot) or may be dropped to make room for a newer client.
/// </summary>
internal sealed class StatsConnection : IDisposable
{
    private readonly CancellationTokenSource _drop;
    private readonly CancellationTokenSource _requestDeadline;
    private readonly CancellationTokenSource _reading;

    public StatsConnection(Socket socket, TimeSpan requestTimeout, TimeProvider time, CancellationToken stop)
    {
        Socket = socket;
        _drop = CancellationTokenSource.CreateLinkedTokenSource(stop);
        _requestDeadline = new CancellationTokenSource(requestTimeout, time);
        _reading = CancellationTokenSource.CreateLinkedTokenSource(_drop.Token, _requestDeadline.Token);
    }

    public Socket Socket { get; }

    /// <summary>Cancelled when the server stops or drops this connection.</summary>
    public CancellationToken Dropped => _drop.Token;

    /// <summary>Cancelled as <see cref="Dropped"/>, and when the request took longer than allowed.</summary>
    public CancellationToken Reading => _reading.Token;

    public bool RequestTimedOut => _requestDeadline.IsCancellationRequested && !_drop.IsCancellationRequested;

    /// <summary>Set and read under the server's lock.</summary>
    public bool Answering { get; set; }

    /// <summary>Set and read under the server's lock: the server closed it to make room.</summary>
    public bool Evicted { get; set; }

    public void Drop()
    {
        try
        {
            // Not Cancel: its callbacks would run the dropped connection's clean-up on the caller's thread
            // (the accept loop), disposing this source while it is being cancelled.
            _ = _drop.CancelAsync();
        }
        catch (ObjectDisposedException)
        {
            // It finished on its own between being chosen and being dropped.
        }
    }

    public void Dispose()
    {
        _reading.Dispose();
        _requestDeadline.Dispose();
        _drop.Dispose();
        Socket.Dispose();
    }
}
