namespace Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;

/// <summary>A template or document the loopback server's mapping rules refuse (ES's <c>mapper_parsing_exception</c>).</summary>
public sealed class MappingException : Exception
{
    public MappingException(string message)
        : base(message)
    {
    }
}
