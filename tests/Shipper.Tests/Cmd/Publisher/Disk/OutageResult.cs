namespace Shipper.Tests.Cmd.Publisher.Disk;

/// <summary>What an <see cref="OutageRun"/> measured once the server was up and the shipper stopped.</summary>
public sealed record OutageResult(
    int Markers,
    int Indexed,
    string Missing,
    int Duplicates,
    int Splits,
    int Documents,
    int QueuedDocuments,
    long QueueBytes,
    long Segments,
    TimeSpan Ran,
    TimeSpan DeliveredIn,
    bool AllDelivered,
    long UndeliveredLive,
    long UndeliveredAtExit,
    TimeSpan StoppedIn,
    int Workers,
    int BulkRequests,
    int ServerErrors);
