using System.Buffers;
using System.Text.Json;
using Shipper.Config;
using Shipper.Module.Logging;

namespace Shipper.Worker;

/// <summary>
/// <c>path.data/meta.json</c>: holds the agent id so it survives restarts, as beats' meta.json does.
/// A corrupt or unreadable file is replaced (and said so) rather than stopping the shipper. Read and written
/// through <see cref="PrivateFile"/>: a link or a device in its place is reported and replaced, never
/// followed; the read stops at <see cref="MaxBytes"/>; the file is 0600.
/// </summary>
public static class AgentMetaFile
{
    public const string Name = "meta.json";

    /// <summary>Ours is under 100 bytes; anything near this is not ours.</summary>
    public const int MaxBytes = 64 * 1024;

    public static string LoadOrCreateId(string dataPath, Logger log, TimeProvider time)
    {
        var path = Path.Combine(dataPath, Name);
        try
        {
            if (PrivateFile.ReadBounded(path, MaxBytes) is { } content)
            {
                var reader = new Utf8JsonReader(content);
                while (reader.Read())
                {
                    if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("uuid"u8) && reader.Read()
                        && reader.TokenType == JsonTokenType.String && Guid.TryParse(reader.GetString(), out var existing))
                    {
                        return existing.ToString();
                    }
                }

                log.Warn($"{path} holds no valid uuid; writing a new agent id");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            log.Warn($"cannot read {path} ({e.Message}); writing a new agent id");
        }

        var id = Guid.NewGuid().ToString();
        try
        {
            Directory.CreateDirectory(dataPath, PrivateDirectory.OwnerOnly);
            var buffer = new ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                writer.WriteString("uuid", id);
                writer.WriteString("first_start", time.GetUtcNow().UtcDateTime.ToString("O"));
                writer.WriteEndObject();
            }

            PrivateFile.Replace(path, buffer.WrittenSpan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.Warn($"cannot write {path} ({e.Message}); the agent id {id} lasts only for this run");
        }

        return id;
    }
}
