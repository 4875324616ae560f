
use builtin;
use str;

set edit:completion:arg-completer[dynamofs] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'dynamofs'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'dynamofs'= {
            cand --endpoint 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself'
            cand --profile 'AWS profile from ~/.aws/config and ~/.aws/credentials'
            cand -v 'More detail: -v shows debug logs and full error chains'
            cand --verbose 'More detail: -v shows debug logs and full error chains'
            cand -q 'Print only errors; no progress display'
            cand --quiet 'Print only errors; no progress display'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand mkfs 'Create a file system: its two tables, superblock and root directory.'
            cand mount 'Mount a file system: serve it through FUSE.'
            cand fsck 'Check a file system''s consistency, and repair what is safe.'
            cand ls 'List directory contents in a file system, without mounting it.'
            cand cp 'Copy files into, out of, and within file systems, without mounting them.'
            cand cat 'Print files from a file system to standard output, without mounting it.'
            cand mkdir 'Make directories in a file system, without mounting it.'
            cand rm 'Remove files and directories from a file system, without mounting it.'
            cand mv 'Move or rename files and directories within a file system, without mounting it.'
            cand stat 'Show what stat(2) says of files in a file system, without mounting it.'
            cand lock 'List the locks held on a file system, and break them.'
            cand stats 'Show what a file system holds, which mounts use it, and what it costs.'
            cand status 'Show a file system''s settings, tables and mounts, without a scan.'
            cand config 'Show a file system''s settings, or change those that can change.'
            cand destroy 'Delete a file system: both its tables (every file in it), or for sqlite:PATH the database file. There is no undo.'
            cand bench 'Measure a mounted file system: a big file written and read sequentially, small files written, read, stat''ed and removed; each with its throughput and the store requests it cost per file or per MiB.'
            cand dump 'Write the whole file system, data included, to FILE (or standard output): every inode with its attributes and extended attributes, hard links once, symbolic links, devices, and the data, with holes left out.'
            cand trash 'The trash: files that an unlink or a rename over them removed, kept in /.trash for the days `mkfs --trash-days` or `config --trash-days` set (live mounts purge older ones hourly).'
            cand load 'Create a dump''s tree in a file system, most often a new one made with `dynamofs mkfs`: inodes, names, hard links, owners, modes, times, extended attributes and data. Reads FILE or standard input.'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dynamofs;mkfs'= {
            cand --block-size 'Data block size: a power of two from 4K to 256K (suffix K allowed)'
            cand --billing 'DynamoDB capacity mode of new tables'
            cand --read-capacity 'Read capacity units per table (with --billing provisioned)'
            cand --write-capacity 'Write capacity units per table (with --billing provisioned)'
            cand --root-owner 'Owner of the root directory as UID:GID (default: the invoking user)'
            cand --root-mode 'Permissions of the root directory, in octal'
            cand --compression 'Compress data blocks (DynamoDB bills per KB written and stored)'
            cand --trash-days 'Keep removed and replaced files this many days in /.trash, from which `dynamofs trash restore` puts them back (0: removal is final; `dynamofs config --trash-days` changes it later)'
            cand --endpoint 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself'
            cand --profile 'AWS profile from ~/.aws/config and ~/.aws/credentials'
            cand --force 'Destroy an existing file system (or foreign tables) at SOURCE'
            cand -v 'More detail: -v shows debug logs and full error chains'
            cand --verbose 'More detail: -v shows debug logs and full error chains'
            cand -q 'Print only errors; no progress display'
            cand --quiet 'Print only errors; no progress display'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamofs;mount'= {
            cand -o 'Mount options, comma-separated (may be repeated)'
            cand --endpoint 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself'
            cand --profile 'AWS profile from ~/.aws/config and ~/.aws/credentials'
            cand -f 'Serve in the foreground instead of returning once mounted'
            cand --foreground 'Serve in the foreground instead of returning once mounted'
            cand -v 'More detail: -v shows debug logs and full error chains'
            cand --verbose 'More detail: -v shows debug logs and full error chains'
            cand -q 'Print only errors; no progress display'
            cand --quiet 'Print only errors; no progress display'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamofs;fsck'= {
            cand --endpoint 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself'
            cand --profile 'AWS profile from ~/.aws/config and ~/.aws/credentials'
            cand --repair 'Repair what is safe, and list what was done'
            cand --json 'Print a machine-readable report (JSON)'
            cand --force 'With --repair: repair live state even while mounts are live'
            cand -v 'More detail: -v shows debug logs and full error chains'
            cand --verbose 'More detail: -v shows debug logs and full error chains'
            cand -q 'Print only errors; no progress display'
            cand --quiet 'Print only errors; no progress display'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamofs;ls'= {
            cand --endpoint 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself'
            cand --profile 'AWS profile from ~/.aws/config and ~/.aws/credentials'
            cand -l 'Long listing: mode, links, owner, group, size, time, name'
            cand -a 'Also names starting with `.`, and `.` and `..`'
            cand --all 'Also names starting with `.`, and `.` and `..`'
            cand -R 'List subdirectories recursively'
            cand --recursive 'List subdirectories recursively'
            cand -h 'With -l: sizes such as 1.5K, 23M, 2.0G'
            cand --human-readable 'With -l: sizes such as 1.5K, 23M, 2.0G'
            cand -n 'With -l: numeric user and group ids, not names'
            cand --numeric-uid-gid 'With -l: numeric user and group ids, not names'
            cand -d 'List directories themselves, not their contents'
            cand --directory 'List directories themselves, not their contents'
            cand --json 'Print one JSON array of objects (see above) instead of text'
            cand --help 'Print help'
            cand -v 'More detail: -v shows debug logs and full error chains'
            cand --verbose 'More detail: -v shows debug logs and full error chains'
            cand -q 'Print only errors; no progress display'
            cand --quiet 'Print only errors; no progress display'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamofs;cp'= {
            cand -j 'Files copied at once'
            cand --jobs 'Files copied at once'
            cand --endpoint 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself'
            cand --profile 'AWS profile from ~/.aws/config and ~/.aws/credentials'
            cand -r 'Copy directories and everything in them'
            cand --recursive 'Copy directories and everything in them'
            cand -p 'Keep mode, access and modification times, and owner and group (where permitted)'
            cand --preserve 'Keep mode, access and modification times, and owner and group (where permitted)'
            cand -n 'Never overwrite an existing file'
            cand --no-clobber 'Never overwrite an existing file'
            cand -L 'Copy what symbolic links in the sources point to, not the links'
            cand --dereference 'Copy what symbolic links in the sources point to, not the links'
            cand -v 'More detail: -v shows debug logs and full error chains'
            cand --verbose 'More detail: -v shows debug logs and full error chains'
            cand -q 'Print only errors; no progress display'
            cand --quiet 'Print only errors; no progress display'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamofs;cat'= {
            cand --endpoint 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself'
            cand --profile 'AWS profile from ~/.aws/config and ~/.aws/credentials'
            cand -v 'More detail: -v shows debug logs and full error chains'
            cand --verbose 'More detail: -v shows debug logs and full error chains'
            cand -q 'Print only errors; no progress display'
            cand --quiet 'Print only errors; no progress display'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamofs;mkdir'= {
            cand -m 'Permissions of the new directories, in octal (not masked by umask)'
            cand --mode 'Permissions of the new directories, in octal (not masked by umask)'
            cand --endpoint 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself'
            cand --profile 'AWS profile from ~/.aws/config and ~/.aws/credentials'
            cand -p 'Make missing parents too; an existing directory is no error'
            cand --parents 'Make missing parents too; an existing directory is no error'
            cand -v 'More detail: -v shows debug logs and full error chains'
            cand --verbose 'More detail: -v shows debug logs and full error chains'
            cand -q 'Print only errors; no progress display'
            cand --quiet 'Print only errors; no progress display'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamofs;rm'= {
            cand --endpoint 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself'
            cand --profile 'AWS profile from ~/.aws/config and ~/.aws/credentials'
            cand -r 'Remove directories and everything in them'
            cand --recursive 'Remove directories and everything in them'
            cand -f 'Ignore what does not exist'
            cand --force 'Ignore what does not exist'
            cand -v 'More detail: -v shows debug logs and full error chains'
            cand --verbose 'More detail: -v shows debug logs and full error chains'
            cand -q 'Print only errors; no progress display'
            cand --quiet 'Print only errors; no progress display'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamofs;mv'= {
            cand --endpoint 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself'
            cand --profile 'AWS profile from ~/.aws/config and ~/.aws/credentials'
            cand -n 'Never replace an existing name'
            cand --no-clobber 'Never replace an existing name'
            cand -v 'More detail: -v shows debug logs and full error chains'
            cand --verbose 'More detail: -v shows debug logs and full error chains'
            cand -q 'Print only errors; no progress display'
            cand --quiet 'Print only errors; no progress display'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamofs;stat'= {
            cand --endpoint 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself'
            cand --profile 'AWS profile from ~/.aws/config and ~/.aws/credentials'
            cand -L 'Follow a symbolic link and show what it points to'
            cand --dereference 'Follow a symbolic link and show what it points to'
            cand --json 'Print JSON instead of text'
            cand -v 'More detail: -v shows debug logs and full error chains'
            cand --verbose 'More detail: -v shows debug logs and full error chains'
            cand -q 'Print only errors; no progress display'
            cand --quiet 'Print only errors; no progress display'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamofs;lock'= {
            cand --endpoint 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself'
            cand --profile 'AWS profile from ~/.aws/config and ~/.aws/credentials'
            cand -y 'Break without asking'
            cand --yes 'Break without asking'
            cand --json 'Print a machine-readable report (JSON)'
            cand -v 'More detail: -v shows debug logs and full error chains'
            cand --verbose 'More detail: -v shows debug logs and full error chains'
            cand -q 'Print only errors; no progress display'
            cand --quiet 'Print only errors; no progress display'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand list 'List every held lock (the default)'
            cand break 'Break one lock by its ID, or every lock of a session'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dynamofs;lock;list'= {
            cand --endpoint 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself'
            cand --profile 'AWS profile from ~/.aws/config and ~/.aws/credentials'
            cand -y 'Break without asking'
            cand --yes 'Break without asking'
            cand --json 'Print a machine-readable report (JSON)'
            cand -v 'More detail: -v shows debug logs and full error chains'
            cand --verbose 'More detail: -v shows debug logs and full error chains'
            cand -q 'Print only errors; no progress display'
            cand --quiet 'Print only errors; no progress display'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamofs;lock;break'= {
            cand --session 'Break every lock of this session (its id, or a unique prefix)'
            cand --endpoint 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself'
            cand --profile 'AWS profile from ~/.aws/config and ~/.aws/credentials'
            cand -y 'Break without asking'
            cand --yes 'Break without asking'
            cand --json 'Print a machine-readable report (JSON)'
            cand -v 'More detail: -v shows debug logs and full error chains'
            cand --verbose 'More detail: -v shows debug logs and full error chains'
            cand -q 'Print only errors; no progress display'
            cand --quiet 'Print only errors; no progress display'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamofs;lock;help'= {
            cand list 'List every held lock (the default)'
            cand break 'Break one lock by its ID, or every lock of a session'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dynamofs;lock;help;list'= {
        }
        &'dynamofs;lock;help;break'= {
        }
        &'dynamofs;lock;help;help'= {
        }
        &'dynamofs;stats'= {
            cand --watch 'Instead of the report: a live view of every mount''s operations, requests and bytes per second, every SECS seconds (default 1), until interrupted; no scan, one request per refresh'
            cand --endpoint 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself'
            cand --profile 'AWS profile from ~/.aws/config and ~/.aws/credentials'
            cand --json 'Print a machine-readable report (JSON)'
            cand -v 'More detail: -v shows debug logs and full error chains'
            cand --verbose 'More detail: -v shows debug logs and full error chains'
            cand -q 'Print only errors; no progress display'
            cand --quiet 'Print only errors; no progress display'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamofs;status'= {
            cand --endpoint 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself'
            cand --profile 'AWS profile from ~/.aws/config and ~/.aws/credentials'
            cand --json 'Print a machine-readable report (JSON)'
            cand -v 'More detail: -v shows debug logs and full error chains'
            cand --verbose 'More detail: -v shows debug logs and full error chains'
            cand -q 'Print only errors; no progress display'
            cand --quiet 'Print only errors; no progress display'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamofs;config'= {
            cand --compression 'Compress blocks written from now on with lz4, or not'
            cand --trash-days 'Keep removed and replaced files this many days in /.trash (0: off)'
            cand --billing 'Switch both tables to this DynamoDB capacity mode'
            cand --table-class 'Switch both tables to this DynamoDB table class'
            cand --read-capacity 'Read capacity units per table (with --billing provisioned)'
            cand --write-capacity 'Write capacity units per table (with --billing provisioned)'
            cand --endpoint 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself'
            cand --profile 'AWS profile from ~/.aws/config and ~/.aws/credentials'
            cand --json 'Print the settings machine-readably (JSON)'
            cand -v 'More detail: -v shows debug logs and full error chains'
            cand --verbose 'More detail: -v shows debug logs and full error chains'
            cand -q 'Print only errors; no progress display'
            cand --quiet 'Print only errors; no progress display'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamofs;destroy'= {
            cand --endpoint 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself'
            cand --profile 'AWS profile from ~/.aws/config and ~/.aws/credentials'
            cand --yes 'Do not ask (for scripts)'
            cand --force 'Delete even while mounts are live, or when the tables hold no dynamofs superblock'
            cand -v 'More detail: -v shows debug logs and full error chains'
            cand --verbose 'More detail: -v shows debug logs and full error chains'
            cand -q 'Print only errors; no progress display'
            cand --quiet 'Print only errors; no progress display'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamofs;bench'= {
            cand --big-file-size 'Size of the big file (suffix K, M or G)'
            cand --small-files 'How many small files'
            cand --small-file-size 'Size of each small file (suffix K or M)'
            cand --metrics 'The mount''s metrics endpoint, when its session does not name it'
            cand --endpoint 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself'
            cand --profile 'AWS profile from ~/.aws/config and ~/.aws/credentials'
            cand --json 'Print the results machine-readably (JSON)'
            cand -v 'More detail: -v shows debug logs and full error chains'
            cand --verbose 'More detail: -v shows debug logs and full error chains'
            cand -q 'Print only errors; no progress display'
            cand --quiet 'Print only errors; no progress display'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamofs;dump'= {
            cand --endpoint 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself'
            cand --profile 'AWS profile from ~/.aws/config and ~/.aws/credentials'
            cand --metadata-only 'Attributes and names only, no file data (files keep their sizes)'
            cand -v 'More detail: -v shows debug logs and full error chains'
            cand --verbose 'More detail: -v shows debug logs and full error chains'
            cand -q 'Print only errors; no progress display'
            cand --quiet 'Print only errors; no progress display'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamofs;trash'= {
            cand --endpoint 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself'
            cand --profile 'AWS profile from ~/.aws/config and ~/.aws/credentials'
            cand --json 'Print a machine-readable list (JSON)'
            cand -v 'More detail: -v shows debug logs and full error chains'
            cand --verbose 'More detail: -v shows debug logs and full error chains'
            cand -q 'Print only errors; no progress display'
            cand --quiet 'Print only errors; no progress display'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand list 'List what the trash keeps (the default)'
            cand restore 'Put files back'
            cand purge 'Remove for good what has expired, or everything with --all'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dynamofs;trash;list'= {
            cand --endpoint 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself'
            cand --profile 'AWS profile from ~/.aws/config and ~/.aws/credentials'
            cand --json 'Print a machine-readable list (JSON)'
            cand -v 'More detail: -v shows debug logs and full error chains'
            cand --verbose 'More detail: -v shows debug logs and full error chains'
            cand -q 'Print only errors; no progress display'
            cand --quiet 'Print only errors; no progress display'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamofs;trash;restore'= {
            cand --to 'Put them in this directory of the file system instead'
            cand --endpoint 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself'
            cand --profile 'AWS profile from ~/.aws/config and ~/.aws/credentials'
            cand --json 'Print a machine-readable list (JSON)'
            cand -v 'More detail: -v shows debug logs and full error chains'
            cand --verbose 'More detail: -v shows debug logs and full error chains'
            cand -q 'Print only errors; no progress display'
            cand --quiet 'Print only errors; no progress display'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamofs;trash;purge'= {
            cand --endpoint 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself'
            cand --profile 'AWS profile from ~/.aws/config and ~/.aws/credentials'
            cand --all 'Everything in the trash, expired or not'
            cand -y 'Do not ask (with --all)'
            cand --yes 'Do not ask (with --all)'
            cand --json 'Print a machine-readable list (JSON)'
            cand -v 'More detail: -v shows debug logs and full error chains'
            cand --verbose 'More detail: -v shows debug logs and full error chains'
            cand -q 'Print only errors; no progress display'
            cand --quiet 'Print only errors; no progress display'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamofs;trash;help'= {
            cand list 'List what the trash keeps (the default)'
            cand restore 'Put files back'
            cand purge 'Remove for good what has expired, or everything with --all'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dynamofs;trash;help;list'= {
        }
        &'dynamofs;trash;help;restore'= {
        }
        &'dynamofs;trash;help;purge'= {
        }
        &'dynamofs;trash;help;help'= {
        }
        &'dynamofs;load'= {
            cand --endpoint 'DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…); default from AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL, else AWS itself'
            cand --profile 'AWS profile from ~/.aws/config and ~/.aws/credentials'
            cand --force 'Load into a file system that is not empty (a name the dump holds too makes the load fail there)'
            cand --metadata-only 'Load a dump made with --metadata-only: files get their sizes and read as zeros'
            cand -v 'More detail: -v shows debug logs and full error chains'
            cand --verbose 'More detail: -v shows debug logs and full error chains'
            cand -q 'Print only errors; no progress display'
            cand --quiet 'Print only errors; no progress display'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'dynamofs;help'= {
            cand mkfs 'Create a file system: its two tables, superblock and root directory.'
            cand mount 'Mount a file system: serve it through FUSE.'
            cand fsck 'Check a file system''s consistency, and repair what is safe.'
            cand ls 'List directory contents in a file system, without mounting it.'
            cand cp 'Copy files into, out of, and within file systems, without mounting them.'
            cand cat 'Print files from a file system to standard output, without mounting it.'
            cand mkdir 'Make directories in a file system, without mounting it.'
            cand rm 'Remove files and directories from a file system, without mounting it.'
            cand mv 'Move or rename files and directories within a file system, without mounting it.'
            cand stat 'Show what stat(2) says of files in a file system, without mounting it.'
            cand lock 'List the locks held on a file system, and break them.'
            cand stats 'Show what a file system holds, which mounts use it, and what it costs.'
            cand status 'Show a file system''s settings, tables and mounts, without a scan.'
            cand config 'Show a file system''s settings, or change those that can change.'
            cand destroy 'Delete a file system: both its tables (every file in it), or for sqlite:PATH the database file. There is no undo.'
            cand bench 'Measure a mounted file system: a big file written and read sequentially, small files written, read, stat''ed and removed; each with its throughput and the store requests it cost per file or per MiB.'
            cand dump 'Write the whole file system, data included, to FILE (or standard output): every inode with its attributes and extended attributes, hard links once, symbolic links, devices, and the data, with holes left out.'
            cand trash 'The trash: files that an unlink or a rename over them removed, kept in /.trash for the days `mkfs --trash-days` or `config --trash-days` set (live mounts purge older ones hourly).'
            cand load 'Create a dump''s tree in a file system, most often a new one made with `dynamofs mkfs`: inodes, names, hard links, owners, modes, times, extended attributes and data. Reads FILE or standard input.'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'dynamofs;help;mkfs'= {
        }
        &'dynamofs;help;mount'= {
        }
        &'dynamofs;help;fsck'= {
        }
        &'dynamofs;help;ls'= {
        }
        &'dynamofs;help;cp'= {
        }
        &'dynamofs;help;cat'= {
        }
        &'dynamofs;help;mkdir'= {
        }
        &'dynamofs;help;rm'= {
        }
        &'dynamofs;help;mv'= {
        }
        &'dynamofs;help;stat'= {
        }
        &'dynamofs;help;lock'= {
            cand list 'List every held lock (the default)'
            cand break 'Break one lock by its ID, or every lock of a session'
        }
        &'dynamofs;help;lock;list'= {
        }
        &'dynamofs;help;lock;break'= {
        }
        &'dynamofs;help;stats'= {
        }
        &'dynamofs;help;status'= {
        }
        &'dynamofs;help;config'= {
        }
        &'dynamofs;help;destroy'= {
        }
        &'dynamofs;help;bench'= {
        }
        &'dynamofs;help;dump'= {
        }
        &'dynamofs;help;trash'= {
            cand list 'List what the trash keeps (the default)'
            cand restore 'Put files back'
            cand purge 'Remove for good what has expired, or everything with --all'
        }
        &'dynamofs;help;trash;list'= {
        }
        &'dynamofs;help;trash;restore'= {
        }
        &'dynamofs;help;trash;purge'= {
        }
        &'dynamofs;help;load'= {
        }
        &'dynamofs;help;help'= {
        }
    ]
    $completions[$command]
}
