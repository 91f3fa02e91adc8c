using Shipper.Module.System.Process.Procfs;

namespace Shipper.Tests.Module.System.Process.Procfs;

public class ProcScannerTests
{
    [Fact]
    public void ListsOurselvesAndInitButNoThreads()
    {
        var pids = new List<int>();
        Assert.True(ProcScanner.ListProcesses("/proc", pids, out var error));
        Assert.Null(error);
        Assert.Contains(Environment.ProcessId, pids);
        Assert.Contains(1, pids);

        // Our worker threads have their own tids under /proc/self/task but are not listed.
        var tids = Directory.GetDirectories($"/proc/{Environment.ProcessId}/task").Select(d => int.Parse(Path.GetFileName(d)));
        Assert.All(tids.Where(t => t != Environment.ProcessId), t => Assert.DoesNotContain(t, pids));
    }

    [Fact]
    public void KeepsOnlyAllDigitNames()
    {
        using var tree = new FakeProcTree();
        foreach (var name in new[] { "12", "abc", "3x", "0", "self", "99999999999", "2147483647", "007" })
        {
            Directory.CreateDirectory(Path.Combine(tree.Root, name));
        }

        var pids = new List<int> { 5 };
        Assert.True(ProcScanner.ListProcesses(tree.Root, pids, out _));
        pids.Sort();
        Assert.Equal(new[] { 7, 12, 2147483647 }, pids);
    }

    [Fact]
    public void AMissingDirectoryIsAnError()
    {
        var pids = new List<int>();
        Assert.False(ProcScanner.ListProcesses("/nonexistent-proc-root", pids, out var error));
        Assert.StartsWith("cannot list /nonexistent-proc-root: ", error);
    }
}
