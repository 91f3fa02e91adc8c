using global::System.Text;
using global::System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Shipper.Module.Containers;
using Shipper.Module.System.Process.Documents;
using Shipper.Module.System.Process.Tracking;
using Shipper.Module.System.Process.Users;
using static Shipper.Tests.Module.System.Process.ProcessFixtures;

namespace Shipper.Tests.Module.System.Process.Documents;

public sealed class ProcessDocumentContainerTests : IDisposable
{
    private const string Id = "3f1c2d4e5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f";
    private static readonly StartTimeClock Clock = new(1_700_000_000L * 1_000_000_000, 100);
    private static readonly DateTime When = new(2024, 5, 1, 10, 0, 0, DateTimeKind.Utc);

    private readonly string _dir = Directory.CreateTempSubdirectory("shipper-doc-").FullName;
    private readonly UserDirectory _users;

    public ProcessDocumentContainerTests()
    {
        File.WriteAllText(Path.Combine(_dir, "passwd"), "root:x:0:0:root:/root:/bin/bash\n");
        File.WriteAllText(Path.Combine(_dir, "group"), "root:x:0:\n");
        _users = new UserDirectory(new FakeTimeProvider(), Path.Combine(_dir, "passwd"), Path.Combine(_dir, "group"));
    }

    [Fact]
    public void AProcessInAContainerGetsATopLevelContainerObject()
    {
        var mapper = new ProcessDocumentMapper("", Clock, _users);
        var sample = Sample(7, 1, 100, "nginx");
        sample.CgroupRead = true;
        sample.Container = new ContainerIdentity(Id, "containerd");

        using var json = Write(mapper.Map(Report(ProcessFacts.FromSample(sample))));

        var container = json.RootElement.GetProperty("container");
        Assert.Equal(["id", "runtime"], container.EnumerateObject().Select(p => p.Name));
        Assert.Equal(Id, container.GetProperty("id").GetString());
        Assert.Equal("containerd", container.GetProperty("runtime").GetString());
        Assert.False(json.RootElement.GetProperty("process").TryGetProperty("container", out _));
    }

    [Fact]
    public void AnUnknownRuntimeIsLeftOutAndAHostProcessHasNoContainer()
    {
        var mapper = new ProcessDocumentMapper("", Clock, _users);
        var inPod = Sample(7, 1, 100, "pause");
        inPod.CgroupRead = true;
        inPod.Container = new ContainerIdentity(Id, null);
        var onHost = Sample(8, 1, 100, "sshd");
        onHost.CgroupRead = true;

        using var pod = Write(mapper.Map(Report(ProcessFacts.FromSample(inPod))));
        using var host = Write(mapper.Map(Report(ProcessFacts.FromSample(onHost))));

        Assert.Equal(["id"], pod.RootElement.GetProperty("container").EnumerateObject().Select(p => p.Name));
        Assert.False(host.RootElement.TryGetProperty("container", out _));
    }

    [Fact]
    public void AChildForkedBeforeItsCgroupWasReadIsInItsParentsContainerUntilReadOtherwise()
    {
        var parentSample = Sample(7, 1, 100, "sh");
        parentSample.CgroupRead = true;
        parentSample.Container = new ContainerIdentity(Id, "docker");
        var parent = ProcessFacts.FromSample(parentSample);
        var child = ProcessFacts.FromSample(Sample(8, 7, 101, "sh"));

        child.InheritFrom(parent);
        Assert.Same(parentSample.Container, child.Container);

        // Moved out of the container's cgroup and exec'd: the new read says "no container".
        var moved = Sample(8, 7, 101, "sleep");
        moved.CgroupRead = true;
        child.Merge(moved, exec: true);
        Assert.Null(child.Container);

        // A read that did not reach the cgroup file keeps what is known.
        var partial = Sample(8, 7, 101, "sleep");
        child.Merge(partial, exec: true);
        Assert.True(child.CgroupKnown);
        Assert.Null(child.Container);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DockerMetadataAddsNameImageAndLabels(bool indented)
    {
        var metadata = new ContainerMetadata("web-1", "nginx:1.27", Encoding.UTF8.GetBytes("""{"com_example_tier":"front","maintainer":"ops"}"""));
        var mapper = new ProcessDocumentMapper("", Clock, _users, containerMetadata: new OneContainer(Id, metadata));
        var sample = Sample(7, 1, 100, "nginx");
        sample.CgroupRead = true;
        sample.Container = new ContainerIdentity(Id, "docker");
        var document = mapper.Map(Report(ProcessFacts.FromSample(sample)));
        var plain = new ProcessDocumentMapper("", Clock, _users).Map(Report(ProcessFacts.FromSample(sample)));

        using var json = Write(document, indented);

        var container = json.RootElement.GetProperty("container");
        Assert.Equal(["id", "runtime", "name", "image", "labels"], container.EnumerateObject().Select(p => p.Name));
        Assert.Equal("web-1", container.GetProperty("name").GetString());
        Assert.Equal("nginx:1.27", container.GetProperty("image").GetProperty("name").GetString());
        Assert.Equal("front", container.GetProperty("labels").GetProperty("com_example_tier").GetString());
        Assert.Equal("ops", container.GetProperty("labels").GetProperty("maintainer").GetString());
        Assert.Equal(plain.EstimatedBytes + metadata.EstimatedBytes, document.EstimatedBytes);
        Assert.True(plain.EstimatedBytes > new ProcessDocumentMapper("", Clock, _users).Map(Report(ProcessFacts.FromSample(Sample(7, 1, 100, "nginx")))).EstimatedBytes);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed class OneContainer(string id, ContainerMetadata metadata) : IContainerMetadataSource
    {
        public ContainerMetadata? Find(string containerId) => containerId == id ? metadata : null;
    }

    private static ProcessReport Report(ProcessFacts facts) => new()
    {
        Events = ProcessEvents.Exec,
        Timestamp = When,
        Facts = facts,
    };

    private static JsonDocument Write(ProcessDocument document, bool indented = false)
    {
        var buffer = new global::System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented }))
        {
            writer.WriteStartObject();
            document.WriteFields(writer);
            writer.WriteEndObject();
        }

        return JsonDocument.Parse(buffer.WrittenMemory);
    }
}
