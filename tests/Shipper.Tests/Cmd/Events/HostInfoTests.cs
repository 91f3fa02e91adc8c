using Shipper.Events;
using Shipper.Tests.Support;

namespace Shipper.Tests.Cmd.Events;

/// <summary>host.* read from crafted release, hostname and cgroup files below a root directory, by go-sysinfo's rules.</summary>
public class HostInfoTests : IDisposable
{
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    private void Write(string path, string content)
    {
        var full = _root.Combine(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
    }

    private HostInfo Read() => HostInfo.Read(_root.Path);

    [Fact]
    public void TheCodenameIsVersionCodenameFirst()
    {
        Write("etc/lsb-release", "DISTRIB_ID=Ubuntu\nDISTRIB_CODENAME=lsbname\n");
        Write("etc/os-release", "NAME=\"Ubuntu\"\nVERSION=\"22.04.3 LTS (Jammy Jellyfish)\"\nVERSION_CODENAME=jammy\nUBUNTU_CODENAME=ubuntuname\nID=ubuntu\nID_LIKE=debian\n");
        var host = Read();
        Assert.Equal("jammy", host.OsCodename);
        Assert.Equal("debian", host.OsFamily);
        Assert.Equal("22.04.3 LTS (Jammy Jellyfish)", host.OsVersion);
    }

    [Fact]
    public void WithoutVersionCodenameLsbReleasesDistribCodenameIsUsed()
    {
        Write("etc/lsb-release", "DISTRIB_ID=LinuxMint\nDISTRIB_CODENAME=victoria\n");
        Write("etc/os-release", "NAME=\"Linux Mint\"\nVERSION=\"21.2 (Victoria)\"\nID=linuxmint\nUBUNTU_CODENAME=jammy\n");
        Assert.Equal("victoria", Read().OsCodename);
    }

    [Fact]
    public void AnyOtherCodenameKeyComesNext()
    {
        Write("etc/os-release", "NAME=\"Pop!_OS\"\nVERSION=\"22.04 LTS\"\nID=pop\nUBUNTU_CODENAME='jammy'\n");
        Assert.Equal("jammy", Read().OsCodename);
    }

    [Theory]
    [InlineData("12 (bookworm)", "bookworm")]
    [InlineData("15-SP4 (Some Name)", "")] // the version pattern stops at the '-': no codename right after it
    [InlineData("9 (Blue Onyx)", "Blue Onyx")]
    [InlineData("rolling", "")]
    public void LastTheParenthesisedPartOfVersion(string version, string codename)
    {
        Write("etc/os-release", $"NAME=\"Some Linux\"\nVERSION=\"{version}\"\nID=some\n");
        Assert.Equal(codename, Read().OsCodename);
    }

    [Fact]
    public void TheRedhatFamilyTakesTheCodenameFromItsDistribReleaseFile()
    {
        Write("etc/os-release", "NAME=\"CentOS Linux\"\nVERSION=\"7 (Core)\"\nID=\"centos\"\nID_LIKE=\"rhel fedora\"\n");
        Write("etc/centos-release", "CentOS Linux release 7.9.2009 (AltArch)\n");
        Write("etc/redhat-release", "Red Hat Enterprise Linux release 9.2 (Plow)\n"); // sorted after centos-release: not read
        var host = Read();
        Assert.Equal("AltArch", host.OsCodename);
        Assert.Equal("redhat", host.OsFamily);
    }

    [Fact]
    public void NoCodenameAnywhereLeavesItEmptyAndBuildIdIsTheBuild()
    {
        Write("etc/os-release", "NAME=\"Arch Linux\"\nPRETTY_NAME=\"Arch Linux\"\nID=arch\nBUILD_ID=rolling\n");
        var host = Read();
        Assert.Equal("", host.OsCodename);
        Assert.Equal("rolling", host.OsBuild);
        Assert.Equal("Arch Linux", host.OsName);
        Assert.Equal("arch", host.OsPlatform);
    }

    [Fact]
    public void TheHostNameIsLowerCasedAndTheKernelsSpellingKept()
    {
        Write("proc/sys/kernel/hostname", "Web-01.Example.COM\n");
        var host = Read();
        Assert.Equal("web-01.example.com", host.Name);
        Assert.Equal("web-01.example.com", host.Hostname);
        Assert.Equal("Web-01.Example.COM", host.KernelHostname);
    }

    [Theory]
    [InlineData("12:devices:/docker/3f4e5d6c7b8a\n0::/system.slice/docker-3f4e.scope\n", true)]
    [InlineData("1:name=systemd:/kubepods/besteffort/pod1234/abcd\n", true)]
    [InlineData("0::/user.slice/user-1000.slice/session-2.scope\n", true)] // go-sysinfo's rule counts any .slice
    [InlineData("2:cpu:/lxc/ct101\n", true)]
    [InlineData("0::/init.scope\n", false)] // a cgroup v2 host
    [InlineData("0::/\n", false)] // a cgroup v2 container's PID 1 sees its namespace root: the rule cannot tell
    [InlineData("9:name=systemd:/\n0::/\n", false)]
    public void ContainerizedFollowsPid1sCgroupLines(string cgroup, bool containerized)
    {
        Write("proc/1/cgroup", cgroup);
        Assert.Equal(containerized, Read().Containerized);
    }

    [Fact]
    public void NoPid1CgroupFileMeansNotContainerized()
    {
        Assert.Equal(false, Read().Containerized);
    }

    [Fact]
    public void ThisMachinesHostIsReadFromTheRealRoot()
    {
        var host = HostInfo.Read();
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/hostname").Trim().ToLowerInvariant(), host.Name);
        Assert.NotNull(host.Containerized);
        Assert.Same(NetworkAddresses.None, host.Network); // netinfo off unless asked for
    }
}
