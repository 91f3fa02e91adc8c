using Microsoft.Extensions.Time.Testing;
using Shipper.Module.System.Process.Hashing;
using Shipper.Module.System.Process.Users;

namespace Shipper.Tests.Module.System.Process.Users;

public sealed class UserDirectoryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("shipper-users-").FullName;
    private readonly FakeTimeProvider _time = new();
    private readonly string _passwd;
    private readonly string _group;

    public UserDirectoryTests()
    {
        _passwd = Path.Combine(_dir, "passwd");
        _group = Path.Combine(_dir, "group");
        File.WriteAllText(_passwd, "root:x:0:0:root:/root:/bin/bash\n# comment\nbroken line\nalice:x:1000:1000::/home/alice:/bin/sh\nalias:x:1000:1000::/:/bin/sh\n");
        File.WriteAllText(_group, "root:x:0:\nstaff:x:1000:alice\n");
    }

    [Fact]
    public void LooksUpNamesAndTheFirstEntryWins()
    {
        var users = new UserDirectory(_time, _passwd, _group);
        Assert.Equal("root", users.UserName(0));
        Assert.Equal("alice", users.UserName(1000));
        Assert.Null(users.UserName(4242));
        Assert.Equal("staff", users.GroupName(1000));
    }

    [Fact]
    public void NoticesAChangedPasswdFileAfterTheRecheckInterval()
    {
        var users = new UserDirectory(_time, _passwd, _group, TimeSpan.FromSeconds(1));
        Assert.Null(users.UserName(1001));

        // Rewritten in place with the same mtime resolution risk: size changes too.
        File.WriteAllText(_passwd, "root:x:0:0:root:/root:/bin/bash\nbob:x:1001:1001::/home/bob:/bin/sh\n");
        Assert.Null(users.UserName(1001)); // not rechecked yet: cheap lookups
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("bob", users.UserName(1001));
        Assert.Null(users.UserName(1000));
        Assert.Equal(2, users.Users.Loads);
    }

    [Fact]
    public void NoticesAFileReplacedByRenameEvenWithTheSameSizeAndTime()
    {
        var users = new UserDirectory(_time, _passwd, _group, TimeSpan.FromSeconds(1));
        Assert.Equal("alice", users.UserName(1000));
        var before = File.GetLastWriteTimeUtc(_passwd);

        // Same length, same mtime, new inode (how useradd/vipw replace the file).
        var next = Path.Combine(_dir, "passwd.new");
        File.WriteAllText(next, File.ReadAllText(_passwd).Replace("alice", "carol"));
        File.SetLastWriteTimeUtc(next, before);
        File.Move(next, _passwd, overwrite: true);

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("carol", users.UserName(1000));
    }

    [Fact]
    public void UnchangedFileIsNotReread()
    {
        var users = new UserDirectory(_time, _passwd, _group, TimeSpan.FromSeconds(1));
        users.UserName(0);
        for (var i = 0; i < 5; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(2));
            Assert.Equal("root", users.UserName(0));
        }

        Assert.Equal(1, users.Users.Loads);
    }

    [Fact]
    public void MissingFileGivesNoNamesAndSaysWhy()
    {
        var users = new UserDirectory(_time, Path.Combine(_dir, "nope"), _group);
        Assert.Null(users.UserName(0));
        Assert.Contains("cannot stat", users.Users.LastError);
    }

    [Fact]
    public void FileIdentitySeesInodeSizeAndTime()
    {
        var identity = FileIdentity.Of(_passwd);
        Assert.NotNull(identity);
        Assert.Equal(new FileInfo(_passwd).Length, identity.Value.Size);
        Assert.NotEqual(0UL, identity.Value.Inode);
        Assert.Null(FileIdentity.Of(Path.Combine(_dir, "missing")));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
