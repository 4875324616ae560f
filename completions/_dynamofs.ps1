
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'dynamofs' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'dynamofs'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'dynamofs' {
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile from ~/.aws/config and ~/.aws/credentials')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('mkfs', 'mkfs', [CompletionResultType]::ParameterValue, 'Create a file system: its two tables, superblock and root directory.')
            [CompletionResult]::new('mount', 'mount', [CompletionResultType]::ParameterValue, 'Mount a file system: serve it through FUSE.')
            [CompletionResult]::new('fsck', 'fsck', [CompletionResultType]::ParameterValue, 'Check a file system''s consistency, and repair what is safe.')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List directory contents in a file system, without mounting it.')
            [CompletionResult]::new('cp', 'cp', [CompletionResultType]::ParameterValue, 'Copy files into, out of, and within file systems, without mounting them.')
            [CompletionResult]::new('cat', 'cat', [CompletionResultType]::ParameterValue, 'Print files from a file system to standard output, without mounting it.')
            [CompletionResult]::new('mkdir', 'mkdir', [CompletionResultType]::ParameterValue, 'Make directories in a file system, without mounting it.')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove files and directories from a file system, without mounting it.')
            [CompletionResult]::new('mv', 'mv', [CompletionResultType]::ParameterValue, 'Move or rename files and directories within a file system, without mounting it.')
            [CompletionResult]::new('stat', 'stat', [CompletionResultType]::ParameterValue, 'Show what stat(2) says of files in a file system, without mounting it.')
            [CompletionResult]::new('lock', 'lock', [CompletionResultType]::ParameterValue, 'List the locks held on a file system, and break them.')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Show what a file system holds, which mounts use it, and what it costs.')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show a file system''s settings, tables and mounts, without a scan.')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Show a file system''s settings, or change those that can change.')
            [CompletionResult]::new('destroy', 'destroy', [CompletionResultType]::ParameterValue, 'Delete a file system: both its tables (every file in it), or for sqlite:PATH the database file. There is no undo.')
            [CompletionResult]::new('bench', 'bench', [CompletionResultType]::ParameterValue, 'Measure a mounted file system: a big file written and read sequentially, small files written, read, stat''ed and removed; each with its throughput and the store requests it cost per file or per MiB.')
            [CompletionResult]::new('dump', 'dump', [CompletionResultType]::ParameterValue, 'Write the whole file system, data included, to FILE (or standard output): every inode with its attributes and extended attributes, hard links once, symbolic links, devices, and the data, with holes left out.')
            [CompletionResult]::new('trash', 'trash', [CompletionResultType]::ParameterValue, 'The trash: files that an unlink or a rename over them removed, kept in /.trash for the days `mkfs --trash-days` or `config --trash-days` set (live mounts purge older ones hourly).')
            [CompletionResult]::new('load', 'load', [CompletionResultType]::ParameterValue, 'Create a dump''s tree in a file system, most often a new one made with `dynamofs mkfs`: inodes, names, hard links, owners, modes, times, extended attributes and data. Reads FILE or standard input.')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dynamofs;mkfs' {
            [CompletionResult]::new('--block-size', '--block-size', [CompletionResultType]::ParameterName, 'Data block size: a power of two from 4K to 256K (suffix K allowed)')
            [CompletionResult]::new('--billing', '--billing', [CompletionResultType]::ParameterName, 'DynamoDB capacity mode of new tables')
            [CompletionResult]::new('--read-capacity', '--read-capacity', [CompletionResultType]::ParameterName, 'Read capacity units per table (with --billing provisioned)')
            [CompletionResult]::new('--write-capacity', '--write-capacity', [CompletionResultType]::ParameterName, 'Write capacity units per table (with --billing provisioned)')
            [CompletionResult]::new('--root-owner', '--root-owner', [CompletionResultType]::ParameterName, 'Owner of the root directory as UID:GID (default: the invoking user)')
            [CompletionResult]::new('--root-mode', '--root-mode', [CompletionResultType]::ParameterName, 'Permissions of the root directory, in octal')
            [CompletionResult]::new('--compression', '--compression', [CompletionResultType]::ParameterName, 'Compress data blocks (DynamoDB bills per KB written and stored)')
            [CompletionResult]::new('--trash-days', '--trash-days', [CompletionResultType]::ParameterName, 'Keep removed and replaced files this many days in /.trash, from which `dynamofs trash restore` puts them back (0: removal is final; `dynamofs config --trash-days` changes it later)')
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile from ~/.aws/config and ~/.aws/credentials')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Destroy an existing file system (or foreign tables) at SOURCE')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamofs;mount' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Mount options, comma-separated (may be repeated)')
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile from ~/.aws/config and ~/.aws/credentials')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Serve in the foreground instead of returning once mounted')
            [CompletionResult]::new('--foreground', '--foreground', [CompletionResultType]::ParameterName, 'Serve in the foreground instead of returning once mounted')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamofs;fsck' {
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile from ~/.aws/config and ~/.aws/credentials')
            [CompletionResult]::new('--repair', '--repair', [CompletionResultType]::ParameterName, 'Repair what is safe, and list what was done')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a machine-readable report (JSON)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'With --repair: repair live state even while mounts are live')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamofs;ls' {
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile from ~/.aws/config and ~/.aws/credentials')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Long listing: mode, links, owner, group, size, time, name')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Also names starting with `.`, and `.` and `..`')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Also names starting with `.`, and `.` and `..`')
            [CompletionResult]::new('-R', '-R ', [CompletionResultType]::ParameterName, 'List subdirectories recursively')
            [CompletionResult]::new('--recursive', '--recursive', [CompletionResultType]::ParameterName, 'List subdirectories recursively')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'With -l: sizes such as 1.5K, 23M, 2.0G')
            [CompletionResult]::new('--human-readable', '--human-readable', [CompletionResultType]::ParameterName, 'With -l: sizes such as 1.5K, 23M, 2.0G')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'With -l: numeric user and group ids, not names')
            [CompletionResult]::new('--numeric-uid-gid', '--numeric-uid-gid', [CompletionResultType]::ParameterName, 'With -l: numeric user and group ids, not names')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'List directories themselves, not their contents')
            [CompletionResult]::new('--directory', '--directory', [CompletionResultType]::ParameterName, 'List directories themselves, not their contents')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON array of objects (see above) instead of text')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamofs;cp' {
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Files copied at once')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Files copied at once')
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile from ~/.aws/config and ~/.aws/credentials')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Copy directories and everything in them')
            [CompletionResult]::new('--recursive', '--recursive', [CompletionResultType]::ParameterName, 'Copy directories and everything in them')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Keep mode, access and modification times, and owner and group (where permitted)')
            [CompletionResult]::new('--preserve', '--preserve', [CompletionResultType]::ParameterName, 'Keep mode, access and modification times, and owner and group (where permitted)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Never overwrite an existing file')
            [CompletionResult]::new('--no-clobber', '--no-clobber', [CompletionResultType]::ParameterName, 'Never overwrite an existing file')
            [CompletionResult]::new('-L', '-L ', [CompletionResultType]::ParameterName, 'Copy what symbolic links in the sources point to, not the links')
            [CompletionResult]::new('--dereference', '--dereference', [CompletionResultType]::ParameterName, 'Copy what symbolic links in the sources point to, not the links')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamofs;cat' {
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile from ~/.aws/config and ~/.aws/credentials')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamofs;mkdir' {
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'Permissions of the new directories, in octal (not masked by umask)')
            [CompletionResult]::new('--mode', '--mode', [CompletionResultType]::ParameterName, 'Permissions of the new directories, in octal (not masked by umask)')
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile from ~/.aws/config and ~/.aws/credentials')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Make missing parents too; an existing directory is no error')
            [CompletionResult]::new('--parents', '--parents', [CompletionResultType]::ParameterName, 'Make missing parents too; an existing directory is no error')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamofs;rm' {
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile from ~/.aws/config and ~/.aws/credentials')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Remove directories and everything in them')
            [CompletionResult]::new('--recursive', '--recursive', [CompletionResultType]::ParameterName, 'Remove directories and everything in them')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Ignore what does not exist')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Ignore what does not exist')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamofs;mv' {
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile from ~/.aws/config and ~/.aws/credentials')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Never replace an existing name')
            [CompletionResult]::new('--no-clobber', '--no-clobber', [CompletionResultType]::ParameterName, 'Never replace an existing name')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamofs;stat' {
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile from ~/.aws/config and ~/.aws/credentials')
            [CompletionResult]::new('-L', '-L ', [CompletionResultType]::ParameterName, 'Follow a symbolic link and show what it points to')
            [CompletionResult]::new('--dereference', '--dereference', [CompletionResultType]::ParameterName, 'Follow a symbolic link and show what it points to')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON instead of text')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamofs;lock' {
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile from ~/.aws/config and ~/.aws/credentials')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Break without asking')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Break without asking')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a machine-readable report (JSON)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List every held lock (the default)')
            [CompletionResult]::new('break', 'break', [CompletionResultType]::ParameterValue, 'Break one lock by its ID, or every lock of a session')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dynamofs;lock;list' {
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile from ~/.aws/config and ~/.aws/credentials')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Break without asking')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Break without asking')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a machine-readable report (JSON)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamofs;lock;break' {
            [CompletionResult]::new('--session', '--session', [CompletionResultType]::ParameterName, 'Break every lock of this session (its id, or a unique prefix)')
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile from ~/.aws/config and ~/.aws/credentials')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Break without asking')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Break without asking')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a machine-readable report (JSON)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamofs;lock;help' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List every held lock (the default)')
            [CompletionResult]::new('break', 'break', [CompletionResultType]::ParameterValue, 'Break one lock by its ID, or every lock of a session')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dynamofs;lock;help;list' {
            break
        }
        'dynamofs;lock;help;break' {
            break
        }
        'dynamofs;lock;help;help' {
            break
        }
        'dynamofs;stats' {
            [CompletionResult]::new('--watch', '--watch', [CompletionResultType]::ParameterName, 'Instead of the report: a live view of every mount''s operations, requests and bytes per second, every SECS seconds (default 1), until interrupted; no scan, one request per refresh')
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile from ~/.aws/config and ~/.aws/credentials')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a machine-readable report (JSON)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamofs;status' {
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile from ~/.aws/config and ~/.aws/credentials')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a machine-readable report (JSON)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamofs;config' {
            [CompletionResult]::new('--compression', '--compression', [CompletionResultType]::ParameterName, 'Compress blocks written from now on with lz4, or not')
            [CompletionResult]::new('--trash-days', '--trash-days', [CompletionResultType]::ParameterName, 'Keep removed and replaced files this many days in /.trash (0: off)')
            [CompletionResult]::new('--billing', '--billing', [CompletionResultType]::ParameterName, 'Switch both tables to this DynamoDB capacity mode')
            [CompletionResult]::new('--table-class', '--table-class', [CompletionResultType]::ParameterName, 'Switch both tables to this DynamoDB table class')
            [CompletionResult]::new('--read-capacity', '--read-capacity', [CompletionResultType]::ParameterName, 'Read capacity units per table (with --billing provisioned)')
            [CompletionResult]::new('--write-capacity', '--write-capacity', [CompletionResultType]::ParameterName, 'Write capacity units per table (with --billing provisioned)')
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile from ~/.aws/config and ~/.aws/credentials')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the settings machine-readably (JSON)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamofs;destroy' {
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile from ~/.aws/config and ~/.aws/credentials')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask (for scripts)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Delete even while mounts are live, or when the tables hold no dynamofs superblock')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamofs;bench' {
            [CompletionResult]::new('--big-file-size', '--big-file-size', [CompletionResultType]::ParameterName, 'Size of the big file (suffix K, M or G)')
            [CompletionResult]::new('--small-files', '--small-files', [CompletionResultType]::ParameterName, 'How many small files')
            [CompletionResult]::new('--small-file-size', '--small-file-size', [CompletionResultType]::ParameterName, 'Size of each small file (suffix K or M)')
            [CompletionResult]::new('--metrics', '--metrics', [CompletionResultType]::ParameterName, 'The mount''s metrics endpoint, when its session does not name it')
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile from ~/.aws/config and ~/.aws/credentials')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the results machine-readably (JSON)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamofs;dump' {
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile from ~/.aws/config and ~/.aws/credentials')
            [CompletionResult]::new('--metadata-only', '--metadata-only', [CompletionResultType]::ParameterName, 'Attributes and names only, no file data (files keep their sizes)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamofs;trash' {
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile from ~/.aws/config and ~/.aws/credentials')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a machine-readable list (JSON)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List what the trash keeps (the default)')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Put files back')
            [CompletionResult]::new('purge', 'purge', [CompletionResultType]::ParameterValue, 'Remove for good what has expired, or everything with --all')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dynamofs;trash;list' {
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile from ~/.aws/config and ~/.aws/credentials')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a machine-readable list (JSON)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamofs;trash;restore' {
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Put them in this directory of the file system instead')
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile from ~/.aws/config and ~/.aws/credentials')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a machine-readable list (JSON)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamofs;trash;purge' {
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile from ~/.aws/config and ~/.aws/credentials')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Everything in the trash, expired or not')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask (with --all)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask (with --all)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a machine-readable list (JSON)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamofs;trash;help' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List what the trash keeps (the default)')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Put files back')
            [CompletionResult]::new('purge', 'purge', [CompletionResultType]::ParameterValue, 'Remove for good what has expired, or everything with --all')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dynamofs;trash;help;list' {
            break
        }
        'dynamofs;trash;help;restore' {
            break
        }
        'dynamofs;trash;help;purge' {
            break
        }
        'dynamofs;trash;help;help' {
            break
        }
        'dynamofs;load' {
            [CompletionResult]::new('--endpoint', '--endpoint', [CompletionResultType]::ParameterName, 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile from ~/.aws/config and ~/.aws/credentials')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Load into a file system that is not empty (a name the dump holds too makes the load fail there)')
            [CompletionResult]::new('--metadata-only', '--metadata-only', [CompletionResultType]::ParameterName, 'Load a dump made with --metadata-only: files get their sizes and read as zeros')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail: -v shows debug logs and full error chains')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors; no progress display')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'dynamofs;help' {
            [CompletionResult]::new('mkfs', 'mkfs', [CompletionResultType]::ParameterValue, 'Create a file system: its two tables, superblock and root directory.')
            [CompletionResult]::new('mount', 'mount', [CompletionResultType]::ParameterValue, 'Mount a file system: serve it through FUSE.')
            [CompletionResult]::new('fsck', 'fsck', [CompletionResultType]::ParameterValue, 'Check a file system''s consistency, and repair what is safe.')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List directory contents in a file system, without mounting it.')
            [CompletionResult]::new('cp', 'cp', [CompletionResultType]::ParameterValue, 'Copy files into, out of, and within file systems, without mounting them.')
            [CompletionResult]::new('cat', 'cat', [CompletionResultType]::ParameterValue, 'Print files from a file system to standard output, without mounting it.')
            [CompletionResult]::new('mkdir', 'mkdir', [CompletionResultType]::ParameterValue, 'Make directories in a file system, without mounting it.')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove files and directories from a file system, without mounting it.')
            [CompletionResult]::new('mv', 'mv', [CompletionResultType]::ParameterValue, 'Move or rename files and directories within a file system, without mounting it.')
            [CompletionResult]::new('stat', 'stat', [CompletionResultType]::ParameterValue, 'Show what stat(2) says of files in a file system, without mounting it.')
            [CompletionResult]::new('lock', 'lock', [CompletionResultType]::ParameterValue, 'List the locks held on a file system, and break them.')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Show what a file system holds, which mounts use it, and what it costs.')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show a file system''s settings, tables and mounts, without a scan.')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Show a file system''s settings, or change those that can change.')
            [CompletionResult]::new('destroy', 'destroy', [CompletionResultType]::ParameterValue, 'Delete a file system: both its tables (every file in it), or for sqlite:PATH the database file. There is no undo.')
            [CompletionResult]::new('bench', 'bench', [CompletionResultType]::ParameterValue, 'Measure a mounted file system: a big file written and read sequentially, small files written, read, stat''ed and removed; each with its throughput and the store requests it cost per file or per MiB.')
            [CompletionResult]::new('dump', 'dump', [CompletionResultType]::ParameterValue, 'Write the whole file system, data included, to FILE (or standard output): every inode with its attributes and extended attributes, hard links once, symbolic links, devices, and the data, with holes left out.')
            [CompletionResult]::new('trash', 'trash', [CompletionResultType]::ParameterValue, 'The trash: files that an unlink or a rename over them removed, kept in /.trash for the days `mkfs --trash-days` or `config --trash-days` set (live mounts purge older ones hourly).')
            [CompletionResult]::new('load', 'load', [CompletionResultType]::ParameterValue, 'Create a dump''s tree in a file system, most often a new one made with `dynamofs mkfs`: inodes, names, hard links, owners, modes, times, extended attributes and data. Reads FILE or standard input.')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'dynamofs;help;mkfs' {
            break
        }
        'dynamofs;help;mount' {
            break
        }
        'dynamofs;help;fsck' {
            break
        }
        'dynamofs;help;ls' {
            break
        }
        'dynamofs;help;cp' {
            break
        }
        'dynamofs;help;cat' {
            break
        }
        'dynamofs;help;mkdir' {
            break
        }
        'dynamofs;help;rm' {
            break
        }
        'dynamofs;help;mv' {
            break
        }
        'dynamofs;help;stat' {
            break
        }
        'dynamofs;help;lock' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List every held lock (the default)')
            [CompletionResult]::new('break', 'break', [CompletionResultType]::ParameterValue, 'Break one lock by its ID, or every lock of a session')
            break
        }
        'dynamofs;help;lock;list' {
            break
        }
        'dynamofs;help;lock;break' {
            break
        }
        'dynamofs;help;stats' {
            break
        }
        'dynamofs;help;status' {
            break
        }
        'dynamofs;help;config' {
            break
        }
        'dynamofs;help;destroy' {
            break
        }
        'dynamofs;help;bench' {
            break
        }
        'dynamofs;help;dump' {
            break
        }
        'dynamofs;help;trash' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List what the trash keeps (the default)')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Put files back')
            [CompletionResult]::new('purge', 'purge', [CompletionResultType]::ParameterValue, 'Remove for good what has expired, or everything with --all')
            break
        }
        'dynamofs;help;trash;list' {
            break
        }
        'dynamofs;help;trash;restore' {
            break
        }
        'dynamofs;help;trash;purge' {
            break
        }
        'dynamofs;help;load' {
            break
        }
        'dynamofs;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
