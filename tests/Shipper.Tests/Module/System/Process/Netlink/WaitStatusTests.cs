using Shipper.Module.System.Process.Netlink;

namespace Shipper.Tests.Module.System.Process.Netlink;

public class WaitStatusTests
{
    [Theory]
    [InlineData(0u, 0)]
    [InlineData(3u << 8, 3)]
    [InlineData(255u << 8, 255)]
    public void NormalExits(uint status, int expected)
    {
        Assert.True(WaitStatus.TryGetExitCode(status, out var code));
        Assert.Equal(expected, code);
        Assert.False(WaitStatus.TryGetTerminatingSignal(status, out _));
    }

    [Theory]
    [InlineData(9u, 9, false)]
    [InlineData(15u, 15, false)]
    [InlineData(0x80u | 11u, 11, true)]
    public void SignalDeaths(uint status, int expected, bool core)
    {
        Assert.False(WaitStatus.TryGetExitCode(status, out _));
        Assert.True(WaitStatus.TryGetTerminatingSignal(status, out var signal));
        Assert.Equal(expected, signal);
        Assert.Equal(core, WaitStatus.CoreDumped(status));
    }
}
