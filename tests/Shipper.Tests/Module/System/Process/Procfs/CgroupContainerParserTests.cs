using global::System.Text;
using Shipper.Module.System.Process.Procfs;

namespace Shipper.Tests.Module.System.Process.Procfs;

public class CgroupContainerParserTests
{
    private const string Id = "3f1c2d4e5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f";
    private const string Other = "aaaabbbbccccddddeeeeffff00001111222233334444555566667777888899990";

    [Theory]
    [InlineData("/docker/" + Id, "docker")] // docker, cgroupfs driver (v1 and v2)
    [InlineData("/system.slice/docker-" + Id + ".scope", "docker")] // docker, systemd driver
    [InlineData("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0d2c2d3e_1b1a_4e4e_9f9f_0a0b0c0d0e0f.slice/docker-" + Id + ".scope", "docker")]
    [InlineData("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0d2c2d3e_1b1a_4e4e_9f9f_0a0b0c0d0e0f.slice/cri-containerd-" + Id + ".scope", "containerd")]
    [InlineData("/kubepods.slice/kubepods-pod0d2c2d3e_1b1a_4e4e_9f9f_0a0b0c0d0e0f.slice/crio-" + Id + ".scope", "cri-o")]
    [InlineData("/machine.slice/libpod-" + Id + ".scope", "podman")]
    [InlineData("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + Id + ".scope", "podman")]
    [InlineData("/libpod_parent/libpod-" + Id, "podman")] // podman, cgroupfs manager
    [InlineData("/kubepods/besteffort/pod0d2c2d3e-1b1a-4e4e-9f9f-0a0b0c0d0e0f/" + Id, null)] // kubelet cgroupfs: runtime unknown
    [InlineData("/kubepods/pod0d2c2d3e-1b1a-4e4e-9f9f-0a0b0c0d0e0f/" + Id, null)]
    [InlineData("/system.slice/something-" + Id + ".scope", null)] // libbeat's pattern matches; the runtime is not ours to guess
    public void NamesTheContainerAndRuntimeOfEachLayout(string path, string? runtime)
    {
        Assert.True(CgroupContainerParser.TryMatchPath(Encoding.ASCII.GetBytes(path), out var id, out var found));
        Assert.Equal(Id, Encoding.ASCII.GetString(id));
        Assert.Equal(runtime, found);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("")]
    [InlineData("/user.slice/user-1000.slice/session-3.scope")]
    [InlineData("/process_api/114ea33763f1f898943a0ed38094e29b")] // 32 hex digits, not a container id
    [InlineData("/kubepods.slice/kubepods-pod1.slice/crio-conmon-" + Id + ".scope")] // conmon runs beside the container
    [InlineData("/machine.slice/libpod-conmon-" + Id + ".scope")]
    [InlineData("/docker/" + Id + "/child")] // a cgroup below the container's is not the container's own leaf
    [InlineData("/docker/3F1C2D4E5A6B7C8D9E0F1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F")] // ids are lower case
    [InlineData("/docker/x3f1c2d4e5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f")] // not after '/' or '-'
    [InlineData("/docker/3f1c2d4e5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6")] // 63 digits
    public void PathsThatNameNoContainer(string path)
    {
        Assert.False(CgroupContainerParser.TryMatchPath(Encoding.ASCII.GetBytes(path), out _, out _));
    }

    [Fact]
    public void OnAHybridHostTheFirstMatchingLineInFileOrderWins()
    {
        // v1 controllers first (highest hierarchy id first, as the kernel lists them), the v2 line last.
        var file = $"12:pids:/docker/{Id}\n11:name=systemd:/system.slice/docker-{Id}.scope\n0::/system.slice/crio-{Other[..64]}.scope\n";

        var container = CgroupContainerParser.Parse(Encoding.ASCII.GetBytes(file));

        Assert.NotNull(container);
        Assert.Equal(Id, container.Id);
        Assert.Equal("docker", container.Runtime);
    }

    [Fact]
    public void ALaterLineCountsWhenEarlierOnesNameNoContainer()
    {
        var file = $"9:name=systemd:/\n8:pids:/user.slice\n0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-{Id}.scope\n";

        var container = CgroupContainerParser.Parse(Encoding.ASCII.GetBytes(file));

        Assert.Equal(Id, container?.Id);
        Assert.Equal("containerd", container?.Runtime);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0::/\n")]
    [InlineData("garbage without colons\n")]
    [InlineData("1:cpu\n")] // one colon: no path field
    [InlineData("0::/crio-conmon-3f1c2d4e5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f.scope")]
    public void FilesThatNameNoContainer(string file)
    {
        Assert.Null(CgroupContainerParser.Parse(Encoding.ASCII.GetBytes(file)));
    }

    [Fact]
    public void APathWithColonsIsReadWhole()
    {
        // Only the first two colons separate fields; a cgroup name may contain more.
        var container = CgroupContainerParser.Parse(Encoding.ASCII.GetBytes($"0::/a:b/docker-{Id}.scope"));

        Assert.Equal("docker", container?.Runtime);
    }
}
