using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Shipper.Watchdog;

namespace Shipper.Config;

/// <summary>
/// Opens, reads and writes the shipper's own files in path.data and path.logs (meta.json, the log files) so
/// that whoever can write into those directories cannot steer root: a symbolic link is never followed
/// (O_NOFOLLOW, or O_EXCL for new files), only a regular file is used (checked on the open descriptor, after an
/// O_NONBLOCK open so that a FIFO cannot hang us), reads are bounded, files are created 0600 and replaced by
/// renaming a new file over them. Errors are <see cref="IOException"/>s that name the file and the problem.
/// </summary>
public static class PrivateFile
{
    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    // The same on x86-64 and arm64, except O_NOFOLLOW.
    private const int OReadOnly = 0x0;
    private const int OWriteOnly = 0x1;
    private const int ONoCtty = 0x100;
    private const int OAppend = 0x400;
    private const int ONonBlock = 0x800;
    private const int OCloExec = 0x80000;

    private const int ENoEnt = 2;
    private const int ELoop = 40;

    private static readonly int ONoFollow = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x8000 : 0x20000;

    /// <summary>The whole file, at most <paramref name="maxBytes"/>; null when it does not exist.</summary>
    public static byte[]? ReadBounded(string path, int maxBytes)
    {
        using var file = OpenExisting(path, OReadOnly);
        if (file is null)
        {
            return null;
        }

        var size = CheckRegular(file, path);
        if (size > maxBytes)
        {
            throw new IOException($"{path} is {size} bytes, more than the {maxBytes} it may hold");
        }

        // One byte more than allowed: a file that grew since fstat is caught too.
        var buffer = new byte[Math.Min(size, maxBytes) + 1];
        var total = 0;
        while (total < buffer.Length)
        {
            var read = RandomAccess.Read(file, buffer.AsSpan(total), total);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        if (total > maxBytes)
        {
            throw new IOException($"{path} holds more than the {maxBytes} bytes it may hold");
        }

        return buffer[..total];
    }

    /// <summary>A stream appending to the file, created 0600 when missing; one with a wider mode is tightened to 0600.</summary>
    public static FileStream OpenForAppend(string path)
    {
        for (var attempt = 0; ; attempt++)
        {
            var file = OpenExisting(path, OWriteOnly | OAppend);
            if (file is null)
            {
                // O_CREAT|O_EXCL: never follows a link planted in the meantime; a file created by someone else
                // in the meantime is opened (and checked) on the next pass.
                try
                {
                    new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = OwnerOnly, BufferSize = 0 }).Dispose();
                }
                catch (IOException) when (attempt == 0 && (File.Exists(path) || new FileInfo(path).LinkTarget is not null))
                {
                }

                continue;
            }

            try
            {
                CheckRegular(file, path);
                if (FileOwnership.TryGet(file, out _, out var mode, out _) && (mode & 0x3f) != 0)
                {
                    File.SetUnixFileMode(file, OwnerOnly);
                }

                var stream = new FileStream(file, FileAccess.Write, bufferSize: 0);
                stream.Seek(0, SeekOrigin.End);
                return stream;
            }
            catch
            {
                file.Dispose();
                throw;
            }
        }
    }

    /// <summary>
    /// Replaces the file with <paramref name="content"/>: written 0600 to a new file of an unguessable name
    /// (O_EXCL), flushed to disk, then renamed over the old one, which replaces a link rather than following it.
    /// </summary>
    public static void Replace(string path, ReadOnlySpan<byte> content)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        var temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = OwnerOnly, BufferSize = 0 }))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            try
            {
                File.Delete(temp);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }

            throw;
        }
    }

    /// <summary>Opens without following a link and without blocking; null when the file does not exist.</summary>
    private static SafeFileHandle? OpenExisting(string path, int access)
    {
        var fd = LibC.Open(path, access | ONoFollow | ONonBlock | ONoCtty | OCloExec);
        if (fd >= 0)
        {
            return new SafeFileHandle(fd, ownsHandle: true);
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno switch
        {
            ENoEnt => null,
            ELoop => throw new IOException($"{path} is a symbolic link (to {new FileInfo(path).LinkTarget}); the shipper does not follow links for its own files: remove it"),
            _ => throw new IOException($"cannot open {path}: {Marshal.GetPInvokeErrorMessage(errno)}"),
        };
    }

    /// <summary>The size of the open file; throws unless it is a regular file (a device, FIFO or directory).</summary>
    private static long CheckRegular(SafeFileHandle file, string path)
    {
        if (!FileOwnership.TryGet(file, out _, out var mode, out var size))
        {
            throw new IOException($"cannot stat {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }

        if ((mode & FileOwnership.TypeMask) != FileOwnership.RegularFile)
        {
            throw new IOException($"{path} is not a regular file ({KindOf(mode)}); the shipper uses only regular files for its own: remove it");
        }

        return size;
    }

    private static string KindOf(uint mode) => (mode & FileOwnership.TypeMask) switch
    {
        0x2000 => "a character device",
        0x6000 => "a block device",
        0x1000 => "a FIFO",
        0x4000 => "a directory",
        0xc000 => "a socket",
        _ => $"type {Convert.ToString(mode & FileOwnership.TypeMask, 8)}",
    };
}
