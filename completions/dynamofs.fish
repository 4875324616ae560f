# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_dynamofs_global_optspecs
    string join \n endpoint= profile= v/verbose q/quiet h/help V/version
end

function __fish_dynamofs_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_dynamofs_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_dynamofs_using_subcommand
    set -l cmd (__fish_dynamofs_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c dynamofs -n "__fish_dynamofs_needs_command" -l endpoint -d 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself' -r
complete -c dynamofs -n "__fish_dynamofs_needs_command" -l profile -d 'AWS profile from ~/.aws/config and ~/.aws/credentials' -r
complete -c dynamofs -n "__fish_dynamofs_needs_command" -s v -l verbose -d 'More detail: -v shows debug logs and full error chains'
complete -c dynamofs -n "__fish_dynamofs_needs_command" -s q -l quiet -d 'Print only errors; no progress display'
complete -c dynamofs -n "__fish_dynamofs_needs_command" -s h -l help -d 'Print help'
complete -c dynamofs -n "__fish_dynamofs_needs_command" -s V -l version -d 'Print version'
complete -c dynamofs -n "__fish_dynamofs_needs_command" -f -a "mkfs" -d 'Create a file system: its two tables, superblock and root directory.'
complete -c dynamofs -n "__fish_dynamofs_needs_command" -f -a "mount" -d 'Mount a file system: serve it through FUSE.'
complete -c dynamofs -n "__fish_dynamofs_needs_command" -f -a "fsck" -d 'Check a file system\'s consistency, and repair what is safe.'
complete -c dynamofs -n "__fish_dynamofs_needs_command" -f -a "ls" -d 'List directory contents in a file system, without mounting it.'
complete -c dynamofs -n "__fish_dynamofs_needs_command" -f -a "cp" -d 'Copy files into, out of, and within file systems, without mounting them.'
complete -c dynamofs -n "__fish_dynamofs_needs_command" -f -a "cat" -d 'Print files from a file system to standard output, without mounting it.'
complete -c dynamofs -n "__fish_dynamofs_needs_command" -f -a "mkdir" -d 'Make directories in a file system, without mounting it.'
complete -c dynamofs -n "__fish_dynamofs_needs_command" -f -a "rm" -d 'Remove files and directories from a file system, without mounting it.'
complete -c dynamofs -n "__fish_dynamofs_needs_command" -f -a "mv" -d 'Move or rename files and directories within a file system, without mounting it.'
complete -c dynamofs -n "__fish_dynamofs_needs_command" -f -a "stat" -d 'Show what stat(2) says of files in a file system, without mounting it.'
complete -c dynamofs -n "__fish_dynamofs_needs_command" -f -a "lock" -d 'List the locks held on a file system, and break them.'
complete -c dynamofs -n "__fish_dynamofs_needs_command" -f -a "stats" -d 'Show what a file system holds, which mounts use it, and what it costs.'
complete -c dynamofs -n "__fish_dynamofs_needs_command" -f -a "status" -d 'Show a file system\'s settings, tables and mounts, without a scan.'
complete -c dynamofs -n "__fish_dynamofs_needs_command" -f -a "config" -d 'Show a file system\'s settings, or change those that can change.'
complete -c dynamofs -n "__fish_dynamofs_needs_command" -f -a "destroy" -d 'Delete a file system: both its tables (every file in it), or for sqlite:PATH the database file. There is no undo.'
complete -c dynamofs -n "__fish_dynamofs_needs_command" -f -a "bench" -d 'Measure a mounted file system: a big file written and read sequentially, small files written, read, stat\'ed and removed; each with its throughput and the store requests it cost per file or per MiB.'
complete -c dynamofs -n "__fish_dynamofs_needs_command" -f -a "dump" -d 'Write the whole file system, data included, to FILE (or standard output): every inode with its attributes and extended attributes, hard links once, symbolic links, devices, and the data, with holes left out.'
complete -c dynamofs -n "__fish_dynamofs_needs_command" -f -a "trash" -d 'The trash: files that an unlink or a rename over them removed, kept in /.trash for the days `mkfs --trash-days` or `config --trash-days` set (live mounts purge older ones hourly).'
complete -c dynamofs -n "__fish_dynamofs_needs_command" -f -a "load" -d 'Create a dump\'s tree in a file system, most often a new one made with `dynamofs mkfs`: inodes, names, hard links, owners, modes, times, extended attributes and data. Reads FILE or standard input.'
complete -c dynamofs -n "__fish_dynamofs_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mkfs" -l block-size -d 'Data block size: a power of two from 4K to 256K (suffix K allowed)' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mkfs" -l billing -d 'DynamoDB capacity mode of new tables' -r -f -a "on-demand\t''
provisioned\t''"
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mkfs" -l read-capacity -d 'Read capacity units per table (with --billing provisioned)' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mkfs" -l write-capacity -d 'Write capacity units per table (with --billing provisioned)' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mkfs" -l root-owner -d 'Owner of the root directory as UID:GID (default: the invoking user)' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mkfs" -l root-mode -d 'Permissions of the root directory, in octal' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mkfs" -l compression -d 'Compress data blocks (DynamoDB bills per KB written and stored)' -r -f -a "none\t''
lz4\t''"
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mkfs" -l trash-days -d 'Keep removed and replaced files this many days in /.trash, from which `dynamofs trash restore` puts them back (0: removal is final; `dynamofs config --trash-days` changes it later)' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mkfs" -l endpoint -d 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mkfs" -l profile -d 'AWS profile from ~/.aws/config and ~/.aws/credentials' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mkfs" -l force -d 'Destroy an existing file system (or foreign tables) at SOURCE'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mkfs" -s v -l verbose -d 'More detail: -v shows debug logs and full error chains'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mkfs" -s q -l quiet -d 'Print only errors; no progress display'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mkfs" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mkfs" -s V -l version -d 'Print version'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mount" -s o -d 'Mount options, comma-separated (may be repeated)' -r -f -a "endpoint\t''
region\t''
profile\t''
attr_timeout\t''
entry_timeout\t''
ro\t''
allow_other\t''
allow_root\t''
mandatory_locks\t''
session_ttl\t''
create\t''
writeback_cache\t''
no_writeback_cache\t''
threads\t''
log\t''
nonempty\t''
write_buffer\t''
block_cache\t''
subdir\t''
suid\t''
nosuid\t''
dev\t''
nodev\t''
atime\t''
noatime\t''
relatime\t''
strictatime\t''
metrics\t''"
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mount" -l endpoint -d 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mount" -l profile -d 'AWS profile from ~/.aws/config and ~/.aws/credentials' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mount" -s f -l foreground -d 'Serve in the foreground instead of returning once mounted'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mount" -s v -l verbose -d 'More detail: -v shows debug logs and full error chains'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mount" -s q -l quiet -d 'Print only errors; no progress display'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mount" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mount" -s V -l version -d 'Print version'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand fsck" -l endpoint -d 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand fsck" -l profile -d 'AWS profile from ~/.aws/config and ~/.aws/credentials' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand fsck" -l repair -d 'Repair what is safe, and list what was done'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand fsck" -l json -d 'Print a machine-readable report (JSON)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand fsck" -l force -d 'With --repair: repair live state even while mounts are live'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand fsck" -s v -l verbose -d 'More detail: -v shows debug logs and full error chains'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand fsck" -s q -l quiet -d 'Print only errors; no progress display'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand fsck" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand fsck" -s V -l version -d 'Print version'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand ls" -l endpoint -d 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand ls" -l profile -d 'AWS profile from ~/.aws/config and ~/.aws/credentials' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand ls" -s l -d 'Long listing: mode, links, owner, group, size, time, name'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand ls" -s a -l all -d 'Also names starting with `.`, and `.` and `..`'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand ls" -s R -l recursive -d 'List subdirectories recursively'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand ls" -s h -l human-readable -d 'With -l: sizes such as 1.5K, 23M, 2.0G'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand ls" -s n -l numeric-uid-gid -d 'With -l: numeric user and group ids, not names'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand ls" -s d -l directory -d 'List directories themselves, not their contents'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand ls" -l json -d 'Print one JSON array of objects (see above) instead of text'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand ls" -l help -d 'Print help'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand ls" -s v -l verbose -d 'More detail: -v shows debug logs and full error chains'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand ls" -s q -l quiet -d 'Print only errors; no progress display'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand ls" -s V -l version -d 'Print version'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand cp" -s j -l jobs -d 'Files copied at once' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand cp" -l endpoint -d 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand cp" -l profile -d 'AWS profile from ~/.aws/config and ~/.aws/credentials' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand cp" -s r -l recursive -d 'Copy directories and everything in them'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand cp" -s p -l preserve -d 'Keep mode, access and modification times, and owner and group (where permitted)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand cp" -s n -l no-clobber -d 'Never overwrite an existing file'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand cp" -s L -l dereference -d 'Copy what symbolic links in the sources point to, not the links'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand cp" -s v -l verbose -d 'More detail: -v shows debug logs and full error chains'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand cp" -s q -l quiet -d 'Print only errors; no progress display'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand cp" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand cp" -s V -l version -d 'Print version'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand cat" -l endpoint -d 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand cat" -l profile -d 'AWS profile from ~/.aws/config and ~/.aws/credentials' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand cat" -s v -l verbose -d 'More detail: -v shows debug logs and full error chains'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand cat" -s q -l quiet -d 'Print only errors; no progress display'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand cat" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand cat" -s V -l version -d 'Print version'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mkdir" -s m -l mode -d 'Permissions of the new directories, in octal (not masked by umask)' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mkdir" -l endpoint -d 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mkdir" -l profile -d 'AWS profile from ~/.aws/config and ~/.aws/credentials' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mkdir" -s p -l parents -d 'Make missing parents too; an existing directory is no error'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mkdir" -s v -l verbose -d 'More detail: -v shows debug logs and full error chains'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mkdir" -s q -l quiet -d 'Print only errors; no progress display'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mkdir" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mkdir" -s V -l version -d 'Print version'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand rm" -l endpoint -d 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand rm" -l profile -d 'AWS profile from ~/.aws/config and ~/.aws/credentials' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand rm" -s r -l recursive -d 'Remove directories and everything in them'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand rm" -s f -l force -d 'Ignore what does not exist'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand rm" -s v -l verbose -d 'More detail: -v shows debug logs and full error chains'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand rm" -s q -l quiet -d 'Print only errors; no progress display'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand rm" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand rm" -s V -l version -d 'Print version'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mv" -l endpoint -d 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mv" -l profile -d 'AWS profile from ~/.aws/config and ~/.aws/credentials' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mv" -s n -l no-clobber -d 'Never replace an existing name'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mv" -s v -l verbose -d 'More detail: -v shows debug logs and full error chains'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mv" -s q -l quiet -d 'Print only errors; no progress display'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mv" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand mv" -s V -l version -d 'Print version'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand stat" -l endpoint -d 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand stat" -l profile -d 'AWS profile from ~/.aws/config and ~/.aws/credentials' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand stat" -s L -l dereference -d 'Follow a symbolic link and show what it points to'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand stat" -l json -d 'Print JSON instead of text'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand stat" -s v -l verbose -d 'More detail: -v shows debug logs and full error chains'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand stat" -s q -l quiet -d 'Print only errors; no progress display'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand stat" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand stat" -s V -l version -d 'Print version'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and not __fish_seen_subcommand_from list break help" -l endpoint -d 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and not __fish_seen_subcommand_from list break help" -l profile -d 'AWS profile from ~/.aws/config and ~/.aws/credentials' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and not __fish_seen_subcommand_from list break help" -s y -l yes -d 'Break without asking'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and not __fish_seen_subcommand_from list break help" -l json -d 'Print a machine-readable report (JSON)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and not __fish_seen_subcommand_from list break help" -s v -l verbose -d 'More detail: -v shows debug logs and full error chains'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and not __fish_seen_subcommand_from list break help" -s q -l quiet -d 'Print only errors; no progress display'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and not __fish_seen_subcommand_from list break help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and not __fish_seen_subcommand_from list break help" -s V -l version -d 'Print version'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and not __fish_seen_subcommand_from list break help" -a "list" -d 'List every held lock (the default)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and not __fish_seen_subcommand_from list break help" -a "break" -d 'Break one lock by its ID, or every lock of a session'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and not __fish_seen_subcommand_from list break help" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and __fish_seen_subcommand_from list" -l endpoint -d 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and __fish_seen_subcommand_from list" -l profile -d 'AWS profile from ~/.aws/config and ~/.aws/credentials' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and __fish_seen_subcommand_from list" -s y -l yes -d 'Break without asking'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and __fish_seen_subcommand_from list" -l json -d 'Print a machine-readable report (JSON)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More detail: -v shows debug logs and full error chains'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only errors; no progress display'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and __fish_seen_subcommand_from break" -l session -d 'Break every lock of this session (its id, or a unique prefix)' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and __fish_seen_subcommand_from break" -l endpoint -d 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and __fish_seen_subcommand_from break" -l profile -d 'AWS profile from ~/.aws/config and ~/.aws/credentials' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and __fish_seen_subcommand_from break" -s y -l yes -d 'Break without asking'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and __fish_seen_subcommand_from break" -l json -d 'Print a machine-readable report (JSON)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and __fish_seen_subcommand_from break" -s v -l verbose -d 'More detail: -v shows debug logs and full error chains'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and __fish_seen_subcommand_from break" -s q -l quiet -d 'Print only errors; no progress display'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and __fish_seen_subcommand_from break" -s h -l help -d 'Print help'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and __fish_seen_subcommand_from break" -s V -l version -d 'Print version'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and __fish_seen_subcommand_from help" -f -a "list" -d 'List every held lock (the default)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and __fish_seen_subcommand_from help" -f -a "break" -d 'Break one lock by its ID, or every lock of a session'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand lock; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand stats" -l watch -d 'Instead of the report: a live view of every mount\'s operations, requests and bytes per second, every SECS seconds (default 1), until interrupted; no scan, one request per refresh' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand stats" -l endpoint -d 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand stats" -l profile -d 'AWS profile from ~/.aws/config and ~/.aws/credentials' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand stats" -l json -d 'Print a machine-readable report (JSON)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand stats" -s v -l verbose -d 'More detail: -v shows debug logs and full error chains'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand stats" -s q -l quiet -d 'Print only errors; no progress display'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand stats" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand stats" -s V -l version -d 'Print version'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand status" -l endpoint -d 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand status" -l profile -d 'AWS profile from ~/.aws/config and ~/.aws/credentials' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand status" -l json -d 'Print a machine-readable report (JSON)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand status" -s v -l verbose -d 'More detail: -v shows debug logs and full error chains'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand status" -s q -l quiet -d 'Print only errors; no progress display'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand status" -s V -l version -d 'Print version'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand config" -l compression -d 'Compress blocks written from now on with lz4, or not' -r -f -a "none\t''
lz4\t''"
complete -c dynamofs -n "__fish_dynamofs_using_subcommand config" -l trash-days -d 'Keep removed and replaced files this many days in /.trash (0: off)' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand config" -l billing -d 'Switch both tables to this DynamoDB capacity mode' -r -f -a "on-demand\t''
provisioned\t''"
complete -c dynamofs -n "__fish_dynamofs_using_subcommand config" -l table-class -d 'Switch both tables to this DynamoDB table class' -r -f -a "standard\t''
standard-ia\t''"
complete -c dynamofs -n "__fish_dynamofs_using_subcommand config" -l read-capacity -d 'Read capacity units per table (with --billing provisioned)' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand config" -l write-capacity -d 'Write capacity units per table (with --billing provisioned)' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand config" -l endpoint -d 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand config" -l profile -d 'AWS profile from ~/.aws/config and ~/.aws/credentials' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand config" -l json -d 'Print the settings machine-readably (JSON)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand config" -s v -l verbose -d 'More detail: -v shows debug logs and full error chains'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand config" -s q -l quiet -d 'Print only errors; no progress display'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand config" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand config" -s V -l version -d 'Print version'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand destroy" -l endpoint -d 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand destroy" -l profile -d 'AWS profile from ~/.aws/config and ~/.aws/credentials' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand destroy" -l yes -d 'Do not ask (for scripts)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand destroy" -l force -d 'Delete even while mounts are live, or when the tables hold no dynamofs superblock'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand destroy" -s v -l verbose -d 'More detail: -v shows debug logs and full error chains'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand destroy" -s q -l quiet -d 'Print only errors; no progress display'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand destroy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand destroy" -s V -l version -d 'Print version'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand bench" -l big-file-size -d 'Size of the big file (suffix K, M or G)' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand bench" -l small-files -d 'How many small files' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand bench" -l small-file-size -d 'Size of each small file (suffix K or M)' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand bench" -l metrics -d 'The mount\'s metrics endpoint, when its session does not name it' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand bench" -l endpoint -d 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand bench" -l profile -d 'AWS profile from ~/.aws/config and ~/.aws/credentials' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand bench" -l json -d 'Print the results machine-readably (JSON)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand bench" -s v -l verbose -d 'More detail: -v shows debug logs and full error chains'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand bench" -s q -l quiet -d 'Print only errors; no progress display'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand bench" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand bench" -s V -l version -d 'Print version'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand dump" -l endpoint -d 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand dump" -l profile -d 'AWS profile from ~/.aws/config and ~/.aws/credentials' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand dump" -l metadata-only -d 'Attributes and names only, no file data (files keep their sizes)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand dump" -s v -l verbose -d 'More detail: -v shows debug logs and full error chains'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand dump" -s q -l quiet -d 'Print only errors; no progress display'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand dump" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand dump" -s V -l version -d 'Print version'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and not __fish_seen_subcommand_from list restore purge help" -l endpoint -d 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and not __fish_seen_subcommand_from list restore purge help" -l profile -d 'AWS profile from ~/.aws/config and ~/.aws/credentials' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and not __fish_seen_subcommand_from list restore purge help" -l json -d 'Print a machine-readable list (JSON)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and not __fish_seen_subcommand_from list restore purge help" -s v -l verbose -d 'More detail: -v shows debug logs and full error chains'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and not __fish_seen_subcommand_from list restore purge help" -s q -l quiet -d 'Print only errors; no progress display'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and not __fish_seen_subcommand_from list restore purge help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and not __fish_seen_subcommand_from list restore purge help" -s V -l version -d 'Print version'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and not __fish_seen_subcommand_from list restore purge help" -a "list" -d 'List what the trash keeps (the default)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and not __fish_seen_subcommand_from list restore purge help" -a "restore" -d 'Put files back'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and not __fish_seen_subcommand_from list restore purge help" -a "purge" -d 'Remove for good what has expired, or everything with --all'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and not __fish_seen_subcommand_from list restore purge help" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from list" -l endpoint -d 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from list" -l profile -d 'AWS profile from ~/.aws/config and ~/.aws/credentials' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from list" -l json -d 'Print a machine-readable list (JSON)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More detail: -v shows debug logs and full error chains'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only errors; no progress display'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from restore" -l to -d 'Put them in this directory of the file system instead' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from restore" -l endpoint -d 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from restore" -l profile -d 'AWS profile from ~/.aws/config and ~/.aws/credentials' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from restore" -l json -d 'Print a machine-readable list (JSON)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from restore" -s v -l verbose -d 'More detail: -v shows debug logs and full error chains'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from restore" -s q -l quiet -d 'Print only errors; no progress display'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from restore" -s h -l help -d 'Print help'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from restore" -s V -l version -d 'Print version'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from purge" -l endpoint -d 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from purge" -l profile -d 'AWS profile from ~/.aws/config and ~/.aws/credentials' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from purge" -l all -d 'Everything in the trash, expired or not'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from purge" -s y -l yes -d 'Do not ask (with --all)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from purge" -l json -d 'Print a machine-readable list (JSON)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from purge" -s v -l verbose -d 'More detail: -v shows debug logs and full error chains'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from purge" -s q -l quiet -d 'Print only errors; no progress display'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from purge" -s h -l help -d 'Print help'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from purge" -s V -l version -d 'Print version'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from help" -f -a "list" -d 'List what the trash keeps (the default)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from help" -f -a "restore" -d 'Put files back'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from help" -f -a "purge" -d 'Remove for good what has expired, or everything with --all'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand trash; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand load" -l endpoint -d 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand load" -l profile -d 'AWS profile from ~/.aws/config and ~/.aws/credentials' -r
complete -c dynamofs -n "__fish_dynamofs_using_subcommand load" -l force -d 'Load into a file system that is not empty (a name the dump holds too makes the load fail there)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand load" -l metadata-only -d 'Load a dump made with --metadata-only: files get their sizes and read as zeros'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand load" -s v -l verbose -d 'More detail: -v shows debug logs and full error chains'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand load" -s q -l quiet -d 'Print only errors; no progress display'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand load" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand load" -s V -l version -d 'Print version'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand help; and not __fish_seen_subcommand_from mkfs mount fsck ls cp cat mkdir rm mv stat lock stats status config destroy bench dump trash load help" -f -a "mkfs" -d 'Create a file system: its two tables, superblock and root directory.'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand help; and not __fish_seen_subcommand_from mkfs mount fsck ls cp cat mkdir rm mv stat lock stats status config destroy bench dump trash load help" -f -a "mount" -d 'Mount a file system: serve it through FUSE.'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand help; and not __fish_seen_subcommand_from mkfs mount fsck ls cp cat mkdir rm mv stat lock stats status config destroy bench dump trash load help" -f -a "fsck" -d 'Check a file system\'s consistency, and repair what is safe.'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand help; and not __fish_seen_subcommand_from mkfs mount fsck ls cp cat mkdir rm mv stat lock stats status config destroy bench dump trash load help" -f -a "ls" -d 'List directory contents in a file system, without mounting it.'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand help; and not __fish_seen_subcommand_from mkfs mount fsck ls cp cat mkdir rm mv stat lock stats status config destroy bench dump trash load help" -f -a "cp" -d 'Copy files into, out of, and within file systems, without mounting them.'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand help; and not __fish_seen_subcommand_from mkfs mount fsck ls cp cat mkdir rm mv stat lock stats status config destroy bench dump trash load help" -f -a "cat" -d 'Print files from a file system to standard output, without mounting it.'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand help; and not __fish_seen_subcommand_from mkfs mount fsck ls cp cat mkdir rm mv stat lock stats status config destroy bench dump trash load help" -f -a "mkdir" -d 'Make directories in a file system, without mounting it.'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand help; and not __fish_seen_subcommand_from mkfs mount fsck ls cp cat mkdir rm mv stat lock stats status config destroy bench dump trash load help" -f -a "rm" -d 'Remove files and directories from a file system, without mounting it.'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand help; and not __fish_seen_subcommand_from mkfs mount fsck ls cp cat mkdir rm mv stat lock stats status config destroy bench dump trash load help" -f -a "mv" -d 'Move or rename files and directories within a file system, without mounting it.'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand help; and not __fish_seen_subcommand_from mkfs mount fsck ls cp cat mkdir rm mv stat lock stats status config destroy bench dump trash load help" -f -a "stat" -d 'Show what stat(2) says of files in a file system, without mounting it.'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand help; and not __fish_seen_subcommand_from mkfs mount fsck ls cp cat mkdir rm mv stat lock stats status config destroy bench dump trash load help" -f -a "lock" -d 'List the locks held on a file system, and break them.'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand help; and not __fish_seen_subcommand_from mkfs mount fsck ls cp cat mkdir rm mv stat lock stats status config destroy bench dump trash load help" -f -a "stats" -d 'Show what a file system holds, which mounts use it, and what it costs.'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand help; and not __fish_seen_subcommand_from mkfs mount fsck ls cp cat mkdir rm mv stat lock stats status config destroy bench dump trash load help" -f -a "status" -d 'Show a file system\'s settings, tables and mounts, without a scan.'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand help; and not __fish_seen_subcommand_from mkfs mount fsck ls cp cat mkdir rm mv stat lock stats status config destroy bench dump trash load help" -f -a "config" -d 'Show a file system\'s settings, or change those that can change.'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand help; and not __fish_seen_subcommand_from mkfs mount fsck ls cp cat mkdir rm mv stat lock stats status config destroy bench dump trash load help" -f -a "destroy" -d 'Delete a file system: both its tables (every file in it), or for sqlite:PATH the database file. There is no undo.'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand help; and not __fish_seen_subcommand_from mkfs mount fsck ls cp cat mkdir rm mv stat lock stats status config destroy bench dump trash load help" -f -a "bench" -d 'Measure a mounted file system: a big file written and read sequentially, small files written, read, stat\'ed and removed; each with its throughput and the store requests it cost per file or per MiB.'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand help; and not __fish_seen_subcommand_from mkfs mount fsck ls cp cat mkdir rm mv stat lock stats status config destroy bench dump trash load help" -f -a "dump" -d 'Write the whole file system, data included, to FILE (or standard output): every inode with its attributes and extended attributes, hard links once, symbolic links, devices, and the data, with holes left out.'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand help; and not __fish_seen_subcommand_from mkfs mount fsck ls cp cat mkdir rm mv stat lock stats status config destroy bench dump trash load help" -f -a "trash" -d 'The trash: files that an unlink or a rename over them removed, kept in /.trash for the days `mkfs --trash-days` or `config --trash-days` set (live mounts purge older ones hourly).'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand help; and not __fish_seen_subcommand_from mkfs mount fsck ls cp cat mkdir rm mv stat lock stats status config destroy bench dump trash load help" -f -a "load" -d 'Create a dump\'s tree in a file system, most often a new one made with `dynamofs mkfs`: inodes, names, hard links, owners, modes, times, extended attributes and data. Reads FILE or standard input.'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand help; and not __fish_seen_subcommand_from mkfs mount fsck ls cp cat mkdir rm mv stat lock stats status config destroy bench dump trash load help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand help; and __fish_seen_subcommand_from lock" -f -a "list" -d 'List every held lock (the default)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand help; and __fish_seen_subcommand_from lock" -f -a "break" -d 'Break one lock by its ID, or every lock of a session'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand help; and __fish_seen_subcommand_from trash" -f -a "list" -d 'List what the trash keeps (the default)'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand help; and __fish_seen_subcommand_from trash" -f -a "restore" -d 'Put files back'
complete -c dynamofs -n "__fish_dynamofs_using_subcommand help; and __fish_seen_subcommand_from trash" -f -a "purge" -d 'Remove for good what has expired, or everything with --all'
