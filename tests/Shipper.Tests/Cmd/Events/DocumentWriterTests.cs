using System.Buffers;
using System.Text;
using System.Text.Json;
using Shipper.Events;

namespace Shipper.Tests.Cmd.Events;

public class DocumentWriterTests
{
    [Theory]
    [InlineData(DateTimeKind.Utc)]
    [InlineData(DateTimeKind.Unspecified)]
    public void TimestampsAreUtcWithMilliseconds(DateTimeKind kind)
    {
        var time = new DateTime(2024, 5, 1, 10, 0, 0, kind).AddTicks(1_239_999); // 123.9999 ms: cut, not rounded
        Assert.Equal("\"2024-05-01T10:00:00.123Z\"", Write(time));
        Assert.Equal("\"0001-01-01T00:00:00.000Z\"", Write(DateTime.MinValue));
        Assert.Equal("\"9999-12-31T23:59:59.999Z\"", Write(DateTime.MaxValue));
    }

    [Fact]
    public void ALocalTimestampIsWrittenInUtc()
    {
        var utc = new DateTime(2024, 5, 1, 10, 0, 0, 7, DateTimeKind.Utc);
        Assert.Equal("\"2024-05-01T10:00:00.007Z\"", Write(utc.ToLocalTime()));
    }

    private static string Write(DateTime time)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            DocumentWriter.WriteTimestamp(writer, time);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
