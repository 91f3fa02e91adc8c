namespace Shipper.Module.System.Process.Netlink;

/// <summary>
/// One decoded proc connector message: the event plus the connector header fields the source needs
/// (<c>cn_msg.seq</c> — per CPU, for loss detection — and <c>ack</c>, to recognise the answer to our own
/// subscription request). <see cref="AckError"/> is the errno the kernel put in an acknowledgement
/// (<see cref="ProcEventType.None"/> events only).
/// </summary>
public readonly record struct ProcConnectorMessage(ProcConnectorEvent Event, uint Sequence, uint Ack, uint AckError);
