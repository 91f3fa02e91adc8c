using global::System.Text;
using Shipper.Containers.Docker;

namespace Shipper.Tests.Cmd.Containers.Docker;

public class DockerJsonTests
{
    private const string Id = "3f1c2d4e5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f";

    [Fact]
    public void AnEventAsTheDaemonSendsItIsRead()
    {
        var line = $$$"""{"status":"start","id":"{{{Id}}}","from":"nginx:1.27","Type":"container","Action":"start","Actor":{"ID":"{{{Id}}}","Attributes":{"image":"nginx:1.27","name":"web-1"}},"scope":"local","time":1700000000,"timeNano":1700000000123456789}""";

        var e = DockerJson.ParseEvent(Encoding.UTF8.GetBytes(line));

        Assert.Equal(new DockerEvent("container", "start", Id, 1700000000), e);
    }

    [Fact]
    public void AnOldDaemonsEventHasOnlyStatusAndId()
    {
        var e = DockerJson.ParseEvent(Encoding.UTF8.GetBytes($$"""{"status":"die","id":"{{Id}}","from":"nginx","time":1700000000}"""));

        Assert.Equal(new DockerEvent("container", "die", Id, 1700000000), e);
    }

    [Fact]
    public void AnInspectGivesTheConfiguredImageNotItsDigest()
    {
        var json = $$$"""{"Id":"{{{Id}}}","Name":"/web-1","Image":"sha256:abc","Config":{"Image":"nginx:1.27","Labels":{"a.b":"c"}},"State":{"Running":true}}""";

        var container = DockerJson.ParseInspect(Encoding.UTF8.GetBytes(json));

        Assert.Equal("web-1", container.Name);
        Assert.Equal("nginx:1.27", container.Image);
        Assert.Equal([new KeyValuePair<string, string>("a.b", "c")], container.Labels);
    }

    [Fact]
    public void NullLabelsAndNamesAreEmpty()
    {
        var list = DockerJson.ParseList(Encoding.UTF8.GetBytes($$"""[{"Id":"{{Id}}","Names":null,"Image":"x","Labels":null}]"""));

        Assert.Null(Assert.Single(list).Name);
        Assert.Empty(list[0].Labels);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{}")]
    [InlineData("[{\"Names\":[\"/a\"]}]")]
    [InlineData("[{\"Id\":\"x\",\"Labels\":[]}]")]
    [InlineData("[{\"Id\":\"x\"")]
    public void AListOfTheWrongShapeIsADockerApiError(string json)
    {
        Assert.Throws<DockerApiException>(() => DockerJson.ParseList(Encoding.UTF8.GetBytes(json)));
    }

    [Fact]
    public void AnErrorReplysMessageIsRead()
    {
        Assert.Equal($"No such container: {Id}", DockerJson.ParseErrorMessage(Encoding.UTF8.GetBytes($$"""{"message":"No such container: {{Id}}"}""")));
        Assert.Null(DockerJson.ParseErrorMessage("<html>"u8));
    }

    [Fact]
    public void LabelsEncodeDedottedOrNested()
    {
        KeyValuePair<string, string>[] labels = [new("com.example.tier", "front"), new("b", "1"), new("com.example", "x")];

        Assert.Equal("""{"b":"1","com_example":"x","com_example_tier":"front"}""", Encoding.UTF8.GetString(ContainerLabelsEncoder.Encode(labels, dedot: true)!));
        Assert.Equal("""{"b":"1","com":{"example":{"tier":"front","value":"x"}}}""", Encoding.UTF8.GetString(ContainerLabelsEncoder.Encode(labels, dedot: false)!));
        Assert.Null(ContainerLabelsEncoder.Encode([], dedot: true));
    }
}
