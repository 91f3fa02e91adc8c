using global::System.Text;

namespace Shipper.Tests.Module.System.Process.Procfs;

/// <summary>A directory shaped like /proc, with files and links a test writes by hand.</summary>
public sealed class FakeProcTree : IDisposable
{
    public FakeProcTree()
    {
        Root = Path.Combine(Path.GetTempPath(), "shipper-fakeproc-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public string AddProcess(int pid)
    {
        var dir = Path.Combine(Root, pid.ToString());
        Directory.CreateDirectory(dir);
        return dir;
    }

    public void WriteFile(int pid, string name, byte[] content) => File.WriteAllBytes(Path.Combine(Root, pid.ToString(), name), content);

    public void WriteFile(int pid, string name, string content) => WriteFile(pid, name, Encoding.UTF8.GetBytes(content));

    public void Link(int pid, string name, string target)
    {
        var path = Path.Combine(Root, pid.ToString(), name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.CreateSymbolicLink(path, target);
    }

    /// <summary>A complete, well-formed process directory.</summary>
    public void AddFullProcess(int pid, string comm, byte[] cmdline)
    {
        AddProcess(pid);
        WriteFile(pid, "cmdline", cmdline);
        WriteFile(pid, "stat", $"{pid} ({comm}) S 1 {pid} {pid} 34817 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 5000 0 0\n");
        WriteFile(pid, "status", "Name:\tx\nUid:\t1000\t1001\t1002\t1003\nGid:\t100\t101\t102\t103\nCapPrm:\t0000000000000001\nCapEff:\t0000000000000002\n");
        Link(pid, "exe", "/usr/bin/fake");
        Link(pid, "cwd", "/srv/work dir");
        Link(pid, "ns/mnt", "mnt:[4026531841]");
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
