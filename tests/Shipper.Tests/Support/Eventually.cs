namespace Shipper.Tests.Support;

/// <summary>Waits for something another thread does, polling; fails the test when it does not happen in time.</summary>
public static class Eventually
{
    public static async Task True(Func<bool> condition, TimeSpan patience)
    {
        var deadline = DateTime.UtcNow + patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in time");
            await Task.Delay(5);
        }
    }
}
